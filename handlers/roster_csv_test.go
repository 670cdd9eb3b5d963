package handlers

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
)

// splitAll is every record of b as the splitter reads it (blank lines
// left out, as encoding/csv leaves them out), all cells kept.
func splitAll(b []byte, comma rune) ([][]string, error) {
	s := csvSplitter{b: b, comma: []byte(string(comma)), line: 1}
	var out [][]string
	for s.pos < len(s.b) {
		if n := s.newline(s.pos); n > 0 {
			s.pos += n
			continue
		}
		cells := make([]string, 64)
		n := 0
		if err := s.record(func(col int) int {
			if col < len(cells) {
				n = max(n, col+1)
				return col
			}
			return -1
		}, 0, cells); err != nil {
			return nil, err
		}
		out = append(out, cells[:n])
	}
	return out, nil
}

// FuzzCSVSplitter: on any input of a few cells, the splitter reads the
// records encoding/csv reads, and refuses what it refuses.
func FuzzCSVSplitter(f *testing.F) {
	for _, s := range []string{
		"a,b,c\n1,2,3\n", "a,\"b,c\"\n", "\"a\"\"b\",c\r\n", "a\n\nb\n", "\"x\ny\",z\n", "a,b\r", "a\rb,c\n",
		"\"a\"b,c\n", "a\"b,c\n", "\"abc", ",,\n,\n", "\r\n\r\n", "a,\"\"\n", "\"a\r\nb\"\n", "x,y,",
	} {
		f.Add([]byte(s), false)
		f.Add(bytes.ReplaceAll([]byte(s), []byte(","), []byte("，")), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, wide bool) {
		comma := ','
		if wide {
			comma = '，'
		}
		if len(b) > 4096 || bytes.Count(b, []byte(string(comma))) > 60 {
			t.Skip()
		}
		sameAsEncodingCSV(t, b, comma)
	})
}

// TestCSVSplitterRandom compares the splitter with encoding/csv on 20,000
// random strings of the characters that matter (a fixed seed; the fuzz
// target explores further).
func TestCSVSplitterRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", ",", "，", "\"", "\n", "\r", " "}
	for range 20000 {
		var b bytes.Buffer
		for range rng.IntN(24) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		comma := ','
		if rng.IntN(2) == 0 {
			comma = '，'
		}
		sameAsEncodingCSV(t, b.Bytes(), comma)
	}
}

func sameAsEncodingCSV(t *testing.T, b []byte, comma rune) {
	t.Helper()
	{
		r := csv.NewReader(bytes.NewReader(b))
		r.Comma, r.FieldsPerRecord = comma, -1
		var want [][]string
		var werr error
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				werr = err
				break
			}
			want = append(want, rec)
		}
		got, err := splitAll(b, comma)
		if (werr != nil) != (err != nil) {
			t.Fatalf("%q: encoding/csv err %v, splitter err %v", b, werr, err)
		}
		if werr == nil && !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("%q: splitter %q, encoding/csv %q", b, got, want)
		}
	}
}
