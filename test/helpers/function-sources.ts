import * as tar from 'tar';

// The handlers of test/e2e/functions.test.ts: one per runtime, the Node one with the branches the
// tests drive (a gate held open across calls, a throw, a spin past the timeout, an HTTP answer).

/** The files as a .tar.gz, base64 (what `hearth fn deploy --archive` sends). */
export async function tarGz(cwd: string, paths: string[]): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of tar.c({ cwd, gzip: true, portable: true }, paths) as AsyncIterable<Buffer>)
    chunks.push(c);
  return Buffer.concat(chunks).toString('base64');
}

export const NODE_V1 = `
let open;
const gate = new Promise((r) => (open = r));
exports.handler = async (event, context) => {
  console.log('handling', context.awsRequestId);
  if (event.gate === 'wait') await gate;
  if (event.gate === 'open') open();
  if (event.action === 'throw') throw new TypeError('bad input: ' + event.why);
  if (event.action === 'spin') for (;;) {}
  if (event.requestContext) {
    return {
      statusCode: 201,
      headers: { 'x-fn': 'yes' },
      body: JSON.stringify({ method: event.requestContext.http.method, path: event.rawPath, q: event.queryStringParameters, body: event.body }),
    };
  }
  return { version: 1, doubled: event.n * 2 };
};
`;
export const NODE_V2 = `exports.handler = async (event) => ({ version: 2, tripled: event.n * 3 });\n`;
export const NODE_SYNTAX = `exports.handler = async (event) => {\n  return (;\n};\n`;

export const PYTHON = `
import json

def handler(event, context):
    print("py handling", context.aws_request_id)
    if event.get("action") == "throw":
        return 1 / 0
    return {"sum": sum(event["xs"]), "lang": "python"}
`;
export const RUBY = `
require 'json'

def handler(event:, context:)
  puts "rb handling #{context.aws_request_id}"
  raise ArgumentError, 'nope' if event['action'] == 'throw'
  { 'upcased' => event['s'].upcase, 'lang' => 'ruby' }
end
`;
