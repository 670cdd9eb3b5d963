package handlers

import (
	"bytes"
	"fmt"
	"io"

	"kehou/models"
)

// The bounds of an .xlsx that hold before a part is parsed: the number of
// archive entries, and the bytes of one token of the XML decoder.

var errXLSXTooManyEntries = models.E(models.KindBadRequest, "xlsx_too_many_entries",
	fmt.Sprintf("Excel 文件内的部件过多（最多%d个），请删除多余的工作表或图片，或另存为新的 .xlsx 后重试", xlsxMaxEntries))

// checkZipEntries refuses an archive of more than xlsxMaxEntries entries
// before archive/zip reads its directory: zip.NewReader keeps every entry
// it finds (a few hundred bytes each, whatever the count the archive
// declares), so a 10 MB archive of empty entries cost +76 MB. Every entry
// it reads starts with a central directory signature, so their count in
// the file bounds the entries (a signature inside compressed data only
// counts one more).
func checkZipEntries(ra io.ReaderAt, size int64) error {
	sig := []byte("PK\x01\x02")
	buf := make([]byte, 32<<10)
	n := 0
	for off := int64(0); off < size; {
		k, err := ra.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		if n += bytes.Count(buf[:k], sig); n > xlsxMaxEntries {
			return errXLSXTooManyEntries
		}
		if err != nil || off+int64(k) >= size || k < len(sig) {
			break
		}
		// The chunks overlap by len(sig)-1 bytes, too few to hold a whole
		// signature twice, so one spanning two chunks is counted once.
		off += int64(k - (len(sig) - 1))
	}
	return nil
}

// xmlGuard passes an inflating part through, failing when the parts read
// together pass their budget of inflated bytes, or when one token of the
// XML decoder would pass xlsxMaxToken bytes: the bytes from one '<' to the
// next (a tag and the text after it), or a processing instruction from <?
// to ?> whatever '<' it holds. Comments, CDATA sections and document type
// declarations (<!…) are refused outright: each is one token however many
// '<' it holds (a 61 KB file with a 60 MB comment made the decoder hold
// it whole), and Excel writes none in the parts read here.
type xmlGuard struct {
	r      io.Reader
	budget *int64
	run    int        // bytes of the current token
	state  guardState // where the last byte read left the scan
}

type guardState uint8

const (
	guardText guardState = iota // in a tag or text: counting up to the next '<'
	guardOpen                   // after a '<'
	guardPI                     // inside <? … ?>
	guardPIQ                    // inside <? … ?>, after a '?'
)

var (
	errXLSXTokenTooLong = models.ErrRosterCellTooLong.WithMessage("Excel 文件中有超过 %d KB 的单元格或标记", xlsxMaxToken>>10)
	errXLSXMarkup       = models.E(models.KindBadRequest, "xlsx_markup",
		"Excel 文件中含有注释、CDATA 或文档类型声明（<!…），Excel 不会写入这些内容；请用 Excel 或 WPS 另存为 .xlsx 后重试")
)

func (g *xmlGuard) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if *g.budget -= int64(n); *g.budget < 0 {
		return 0, errXLSXTooBig
	}
	if e := g.scan(p[:n]); e != nil {
		return 0, e
	}
	return n, err
}

func (g *xmlGuard) scan(b []byte) error {
	for i := 0; i < len(b); {
		switch g.state {
		case guardText:
			j := bytes.IndexByte(b[i:], '<')
			if j < 0 {
				g.run += len(b) - i
				i = len(b)
				break
			}
			if g.run+j > xlsxMaxToken {
				return errXLSXTokenTooLong
			}
			g.run, g.state, i = 0, guardOpen, i+j+1
		case guardOpen:
			switch b[i] {
			case '!':
				return errXLSXMarkup
			case '?':
				g.state = guardPI
			default:
				g.state = guardText
			}
			g.run++
			i++
		case guardPI, guardPIQ:
			c := b[i]
			g.run++
			i++
			switch {
			case c == '>' && g.state == guardPIQ:
				g.run, g.state = 0, guardText
			case c == '?':
				g.state = guardPIQ
			default:
				g.state = guardPI
			}
		}
		if g.run > xlsxMaxToken {
			return errXLSXTokenTooLong
		}
	}
	return nil
}
