package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"hash/crc32"
	"io"
	"strings"
	"testing"
)

// inflating is a raw deflate stream of n MiB of '0' bytes and its CRC-32,
// made from one compressed MiB repeated (each sync-flushed block refers only
// to its own bytes), so a test need not compress n MiB under -race.
func inflating(t *testing.T, n int) ([]byte, uint32) {
	t.Helper()
	mib := bytes.Repeat([]byte("0"), 1<<20)
	var one bytes.Buffer
	fw, _ := flate.NewWriter(&one, flate.BestCompression)
	fw.Write(mib)
	fw.Flush()
	stream := append(bytes.Repeat(one.Bytes(), n), 0x01, 0x00, 0x00, 0xff, 0xff) // a final empty stored block
	var crc uint32
	for range n {
		crc = crc32.Update(crc, crc32.IEEETable, mib)
	}
	return stream, crc
}

// TestRosterXLSXInflationBounded: an .xlsx of well under 1 MB that inflates
// to 80 MB (a legitimate 20,000-row roster inflates to about 8 MB) is
// refused as a bad file before it is read into memory, not imported.
func TestRosterXLSXInflationBounded(t *testing.T) {
	f := newRosterFixture(t)
	var hdr []any
	for _, h := range strings.Split(rosterHeader, ",") {
		hdr = append(hdr, h)
	}
	good := xlsxFile(t, [][]any{hdr, {"B1", "甲", "男", 3, "1班", "甲父", 13800001111, "父亲"}})
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, zf := range zr.File {
		if err := zw.Copy(zf); err != nil {
			t.Fatal(err)
		}
	}
	const mibs = 80
	stream, crc := inflating(t, mibs)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "customXml/item1.xml", Method: zip.Deflate, CRC32: crc,
		CompressedSize64: uint64(len(stream)), UncompressedSize64: mibs << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(stream); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes", buf.Len())
	}
	// The stream really inflates to what its header says.
	bz, _ := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	rc, err := bz.File[len(bz.File)-1].Open()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, rc); err != nil || n != mibs<<20 {
		t.Fatalf("bomb inflates to %d: %v", n, err)
	}
	t.Run("inflatingFile400", func(t *testing.T) {
		body, ctype := multipartFile(t, "file", "名单.xlsx", buf.Bytes())
		f.s.do("POST", f.url, f.token, body, "Content-Type", ctype).want(t, 400, "bad_xlsx")
		if c := f.counts(t); c[0] != 0 {
			t.Fatalf("imported %v", c)
		}
	})
	t.Run("sameFileWithoutPadding200", func(t *testing.T) {
		body, ctype := multipartFile(t, "file", "名单.xlsx", good)
		wantResult(t, f.s.do("POST", f.url, f.token, body, "Content-Type", ctype), 1, 0)
	})
}
