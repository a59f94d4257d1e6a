package main

import "testing"

// Uploads reach the decoder in page-sized pieces (one virtio-serial receive buffer per read).
func BenchmarkDecoderPagePieces(b *testing.B) {
	frame := EncodeFrame(1, FrameStdin, make([]byte, DataChunkBytes))
	b.SetBytes(int64(len(frame)))
	d := &Decoder{Synced: true}
	for i := 0; i < b.N; i++ {
		for off := 0; off < len(frame); off += 4096 {
			end := off + 4096
			if end > len(frame) {
				end = len(frame)
			}
			if _, err := d.Push(frame[off:end]); err != nil {
				b.Fatal(err)
			}
		}
	}
}
