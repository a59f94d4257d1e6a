# Hearth's function shim for Ruby, run in the guest: `check` loads the handler and exits (its error
# on stdout as JSON), `serve` loads it and answers invocations on 127.0.0.1:PORT, JSON lines
# multiplexed by id on long-lived connections, a thread per invocation. Output is captured per
# invocation thread.
require 'json'
require 'socket'

mode, task_dir, handler_spec, port = ARGV
module_name, _, export_name = handler_spec.rpartition('.')
MAX_LOG = 64 * 1024
CUT = "\n[hearth: output past 64 KiB dropped]\n"

# $stdout/$stderr: a copy of what an invocation's thread prints goes to its log, up to MAX_LOG, then
# the marker; the rest is dropped, also from the guest's own log file (a handler printing without
# end must not fill the guest's disk or the manager's memory).
class Capture
  def initialize(real)
    @real = real
  end

  def write(*parts)
    s = parts.join
    buf = Thread.current[:fn_logs]
    return @real.write(s) unless buf
    return s.bytesize if Thread.current[:fn_cut]

    room = MAX_LOG - buf.bytesize
    if s.bytesize > room
      Thread.current[:fn_cut] = true
      s = s.byteslice(0, room).scrub + CUT
    end
    buf << s
    @real.write(s)
  end

  def puts(*args)
    args = [''] if args.empty?
    args.flatten.each { |a| t = a.to_s; write(t.end_with?("\n") ? t : "#{t}\n") }
    nil
  end

  def print(*args) = write(*args.map(&:to_s))
  def <<(s) = write(s.to_s) && self
  def flush = @real.flush && self
  def sync = true
  def sync=(_v); end
  def fileno = @real.fileno
end

def error_of(e)
  { type: e.class.name, message: e.message, stack: [e.full_message(highlight: false).lines.first&.chomp, *(e.backtrace || [])].compact }
end

Context = Struct.new(:aws_request_id, :request_id, :function_name, :function_version, :memory_limit_in_mb, :deadline) do
  def get_remaining_time_in_millis = [0, ((deadline - Time.now) * 1000).to_i].max
end

def load_handler(task_dir, module_name, export_name)
  $LOAD_PATH.unshift(task_dir)
  file = File.join(task_dir, "#{module_name}.rb")
  load file
  unless Object.private_method_defined?(export_name) || Object.method_defined?(export_name)
    raise NameError, "#{file} defines no method \"#{export_name}\""
  end
  export_name.to_sym
end

def invoke(name, req)
  Thread.current[:fn_logs] = +''
  Thread.current[:fn_cut] = false
  t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  ctx = Context.new(req['requestId'], req['requestId'], req['functionName'], req['version'].to_s,
                    req['memoryMib'], Time.now + req['timeoutMs'] / 1000.0)
  out = begin
    result = Object.new.send(name, event: req['event'], context: ctx)
    begin
      { ok: true, result: JSON.parse(JSON.generate(result)) }
    rescue JSON::GeneratorError, JSON::NestingError, SystemStackError => e
      { ok: false, error: { type: 'ResultNotSerializable', message: "The handler's return value is not JSON-serializable: #{e.message}", stack: [] } }
    end
  rescue Exception => e # rubocop:disable Lint/RescueException -- the handler's error goes back to the caller
    { ok: false, error: error_of(e) }
  end
  out[:ms] = (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) * 1000
  # Bytes printed that are no UTF-8 would make the answer line fail to encode (no answer at all).
  out[:logs] = Thread.current[:fn_logs].force_encoding('UTF-8').scrub
  Thread.current[:fn_logs] = nil
  out
end

begin
  name = load_handler(task_dir, module_name, export_name)
rescue Exception => e # rubocop:disable Lint/RescueException -- a syntax error is a ScriptError
  $stdout.puts JSON.generate({ ok: false, error: error_of(e) })
  exit 1
end
if mode == 'check'
  $stdout.puts JSON.generate({ ok: true })
  exit 0
end
$stdout = Capture.new($stdout)
$stderr = Capture.new($stderr)
server = TCPServer.new('127.0.0.1', port.to_i)
# One connection: JSON lines, each answered with its `id`, a thread per request (the manager bounds
# them by the function's concurrency); the client's end of data ends it once every answer is out.
loop do
  sock = server.accept
  Thread.new(sock) do |s|
    s.setsockopt(Socket::IPPROTO_TCP, Socket::TCP_NODELAY, 1)
    lock = Mutex.new
    running = []
    while (line = s.gets)
      next if line.strip.empty?

      req = JSON.parse(line)
      running << Thread.new(req) do |r|
        out = r['op'] == 'ping' ? { ok: true } : invoke(name, r)
        out[:id] = r['id'] if r.key?('id')
        data = JSON.generate(out) + "\n"
        lock.synchronize { s.write(data) }
      rescue StandardError => e
        warn "hearth function shim: #{e.message}"
      end
      running.select!(&:alive?)
    end
    running.each(&:join)
  rescue StandardError => e
    warn "hearth function shim: #{e.message}"
  ensure
    s.close
  end
end
