// Package verify checks Go redo against PostgreSQL's own results, using WAL
// written with wal_consistency_checking=all ("oracle 1"): with that setting
// every block reference of every record from an rmgr that has a mask
// function carries the page image *after* the change. Blocks whose image has
// BKPIMAGE_APPLY clear are verify-only: the redo being verified must produce
// that page (after masking) from the page state before the record.
//
// For every record from --from to --to, and every block reference:
//
//	APPLY image                       -> redo restores it: the page state is established
//	verify-only image, state known    -> redo the delta on a copy of the state, then
//	    (or WILL_INIT)                   mask both that page and the restored image with the
//	                                     rmgr's mask and compare; count a mismatch at the
//	                                     first differing byte; the redo result becomes the state
//	verify-only image, state unknown  -> skipped (WAL started after the page's last image);
//	                                     the image becomes the state
//	no image                          -> redo on the state if known, else the state stays unknown
//
// A redo error wrapping the Options.IsUnsupported class counts the record as
// unsupported (once per record, by type); the block's image, if any, then
// becomes the state so later records can still be verified. Any other redo
// error is a mismatch.
//
// Page state is kept in memory, one 8 KiB page per (relation fork, block)
// touched: size the WAL range accordingly.
package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
	"github.com/stratadb/strata/libs/postgres/mask"
	"github.com/stratadb/strata/libs/postgres/wal"
)

// Redoer applies one block reference of a record to its page, in place.
// page is 8192 bytes: the page state before the record (zeros if unknown
// and the block has WILL_INIT). Restoring APPLY images is the Redoer's job,
// as in PostgreSQL's XLogReadBufferForRedo.
type Redoer interface {
	ApplyBlock(page []byte, rec *wal.Record, blockID uint8) error
}

// RedoFunc adapts a function to Redoer (e.g. verify.RedoFunc(redo.ApplyBlock)).
type RedoFunc func(page []byte, rec *wal.Record, blockID uint8) error

// ApplyBlock calls f.
func (f RedoFunc) ApplyBlock(page []byte, rec *wal.Record, blockID uint8) error {
	return f(page, rec, blockID)
}

// Options configure Run.
type Options struct {
	// From is where reading starts; lsn.Invalid means the first segment.
	From lsn.LSN
	// To, if valid, stops before the first record starting at or after it.
	To lsn.LSN
	// TLI selects the timeline of the segment files (0: highest present).
	TLI uint32
	// Redo is the redo under test. Required.
	Redo Redoer
	// IsUnsupported classifies a redo error as "record type not supported"
	// (for example errors.Is(err, redo.ErrUnsupported)). Nil: none are.
	IsUnsupported func(error) bool
	// OnMismatch, if set, is called for every mismatch found by comparison
	// with the masked redo result and the masked logged image (valid only
	// during the call).
	OnMismatch func(m Mismatch, redo, logged []byte)
	// MaxReports bounds the mismatches and unsupported records kept in the
	// Result for printing; zero means 10.
	MaxReports int
}

// Mismatch is one verified block whose masked redo result differs from the
// masked image PostgreSQL logged (or whose redo failed).
type Mismatch struct {
	LSN     lsn.LSN
	Type    string // wal.TypeName
	BlockID uint8
	Rel     key.RelTag
	Blk     uint32
	// Offset is the first differing byte of the masked pages; -1 if the
	// redo or mask failed (see Reason).
	Offset int
	Reason string
}

func (m Mismatch) String() string {
	if m.Offset < 0 {
		return fmt.Sprintf("mismatch at %s %s block %d (%s blk %d): %s", m.LSN, m.Type, m.BlockID, m.Rel, m.Blk, m.Reason)
	}
	return fmt.Sprintf("mismatch at %s %s block %d (%s blk %d): first differing byte at offset %d (%s)",
		m.LSN, m.Type, m.BlockID, m.Rel, m.Blk, m.Offset, m.Reason)
}

// Unsupported is one record the redo does not support.
type Unsupported struct {
	LSN    lsn.LSN
	Type   string
	RmID   uint8
	Info   uint8
	Reason string
}

// Result is what Run found.
type Result struct {
	Records        int
	BlocksVerified int
	Mismatches     int
	Unsupported    int // records
	// BlocksRestored counts APPLY images; BlocksSkipped verify-only images
	// whose page state was unknown; BlocksNoImage block references without
	// an image.
	BlocksRestored, BlocksSkipped, BlocksNoImage int
	// VerifiedByType counts verified blocks per record type;
	// UnsupportedByType unsupported records per record type.
	VerifiedByType    map[string]int
	UnsupportedByType map[string]int
	FirstMismatches   []Mismatch
	FirstUnsupported  []Unsupported
	// UnsupportedExamples holds the first unsupported record of each type.
	UnsupportedExamples map[string]Unsupported
	// End is the LSN after the last record read.
	End lsn.LSN
}

// Summary is the one-line summary:
// "records=N blocks_verified=N mismatches=N unsupported=N".
func (r *Result) Summary() string {
	return fmt.Sprintf("records=%d blocks_verified=%d mismatches=%d unsupported=%d",
		r.Records, r.BlocksVerified, r.Mismatches, r.Unsupported)
}

// OK reports whether there was no mismatch and no unsupported record.
func (r *Result) OK() bool { return r.Mismatches == 0 && r.Unsupported == 0 }

// UnsupportedTypes returns the unsupported record types, sorted.
func (r *Result) UnsupportedTypes() []string {
	return slices.Sorted(maps.Keys(r.UnsupportedByType))
}

type pageKey struct {
	rel key.RelTag
	blk uint32
}

// Run verifies the WAL in dir. It returns an error only when the WAL cannot
// be read (malformed WAL before To is an error naming its LSN); mismatches
// and unsupported records are in the Result.
func Run(ctx context.Context, dir string, opts Options) (*Result, error) {
	if opts.Redo == nil {
		return nil, errors.New("verify: Options.Redo is required")
	}
	if opts.MaxReports <= 0 {
		opts.MaxReports = 10
	}
	r, err := wal.NewReader(dir, opts.From, wal.ReaderOptions{TLI: opts.TLI})
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer r.Close()
	v := &verifier{
		opts:  opts,
		pages: map[pageKey][]byte{},
		result: &Result{VerifiedByType: map[string]int{}, UnsupportedByType: map[string]int{},
			UnsupportedExamples: map[string]Unsupported{}},
		work:   make([]byte, wal.BlockSize),
		image:  make([]byte, wal.BlockSize),
		masked: make([]byte, wal.BlockSize),
	}
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return v.result, err
			}
		}
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			v.result.End = r.Position()
			return v.result, fmt.Errorf("verify: read WAL: %w", err)
		}
		if opts.To.IsValid() && rec.LSN >= opts.To {
			break
		}
		v.record(rec)
		v.result.End = rec.EndLSN
	}
	return v.result, nil
}

type verifier struct {
	opts   Options
	pages  map[pageKey][]byte
	result *Result
	work   []byte // redo output for verify-only blocks
	image  []byte // restored verify-only image
	masked []byte // masked copy of work
}

func (v *verifier) record(rec *wal.Record) {
	res := v.result
	res.Records++
	unsupported := ""
	for i := range rec.Blocks {
		b := &rec.Blocks[i]
		if reason := v.block(rec, b); reason != "" && unsupported == "" {
			unsupported = reason
		}
	}
	if unsupported != "" {
		res.Unsupported++
		t := rec.TypeName()
		res.UnsupportedByType[t]++
		u := Unsupported{LSN: rec.LSN, Type: t, RmID: rec.RmID, Info: rec.Info, Reason: unsupported}
		if _, ok := res.UnsupportedExamples[t]; !ok {
			res.UnsupportedExamples[t] = u
		}
		if len(res.FirstUnsupported) < v.opts.MaxReports {
			res.FirstUnsupported = append(res.FirstUnsupported, u)
		}
	}
}

// block handles one block reference; it returns a reason if redo reported
// the record unsupported.
func (v *verifier) block(rec *wal.Record, b *wal.BlockRef) (unsupported string) {
	res := v.result
	k := pageKey{b.Rel, b.Blk}
	state, known := v.pages[k]
	verifyOnly := b.HasImage && !b.ApplyImage

	if b.HasImage && b.ApplyImage {
		res.BlocksRestored++
	}
	if !b.HasImage {
		res.BlocksNoImage++
	}
	if verifyOnly && !known && !b.WillInit {
		res.BlocksSkipped++
		v.adoptImage(k, rec, b)
		return ""
	}
	if !known && !b.HasImage && !b.WillInit {
		return v.redoUnknown(rec, b)
	}

	work := v.work
	if known {
		copy(work, state)
	} else {
		clear(work)
	}
	if err := v.opts.Redo.ApplyBlock(work, rec, b.ID); err != nil {
		if v.opts.IsUnsupported != nil && v.opts.IsUnsupported(err) {
			if b.HasImage {
				v.adoptImage(k, rec, b)
			} else {
				delete(v.pages, k)
			}
			return err.Error()
		}
		if verifyOnly {
			v.mismatch(rec, b, -1, "redo failed: "+err.Error())
			v.adoptImage(k, rec, b)
		} else {
			delete(v.pages, k)
			v.mismatch(rec, b, -1, "redo failed: "+err.Error())
		}
		return ""
	}
	if verifyOnly {
		v.compare(rec, b, work)
	}
	if !known {
		state = make([]byte, wal.BlockSize)
		v.pages[k] = state
	}
	copy(state, work)
	return ""
}

// redoUnknown handles a block without image whose page state is unknown:
// nothing can be verified; the state stays unknown. Redo is still asked, so
// unsupported records are reported.
func (v *verifier) redoUnknown(rec *wal.Record, b *wal.BlockRef) string {
	clear(v.work)
	err := v.opts.Redo.ApplyBlock(v.work, rec, b.ID)
	if err != nil && v.opts.IsUnsupported != nil && v.opts.IsUnsupported(err) {
		return err.Error()
	}
	return ""
}

// adoptImage makes the block's image the page state (stamped with the
// record's end LSN, as redo would leave it).
func (v *verifier) adoptImage(k pageKey, rec *wal.Record, b *wal.BlockRef) {
	pg, ok := v.pages[k]
	if !ok {
		pg = make([]byte, wal.BlockSize)
	}
	if err := b.RestoreImage(pg); err != nil {
		delete(v.pages, k)
		v.mismatch(rec, b, -1, "restore image: "+err.Error())
		return
	}
	setPageLSN(pg, rec.EndLSN)
	v.pages[k] = pg
}

func setPageLSN(pg []byte, l lsn.LSN) {
	// pd_lsn is {xlogid u32, xrecoff u32}, each in host (little-endian) order.
	hi, lo := uint32(l>>32), uint32(l)
	pg[0], pg[1], pg[2], pg[3] = byte(hi), byte(hi>>8), byte(hi>>16), byte(hi>>24)
	pg[4], pg[5], pg[6], pg[7] = byte(lo), byte(lo>>8), byte(lo>>16), byte(lo>>24)
}

// compare masks the redo result and the verify-only image and compares them.
func (v *verifier) compare(rec *wal.Record, b *wal.BlockRef, got []byte) {
	res := v.result
	if err := b.RestoreImage(v.image); err != nil {
		v.mismatch(rec, b, -1, "restore image: "+err.Error())
		return
	}
	mf := mask.ForRmgr(rec.RmID)
	if mf == nil {
		// No PostgreSQL mask: PostgreSQL would not have logged a
		// verification image. Compare raw apart from the page LSN.
		mf = func(p []byte, _ uint32) error { mask.PageLSNAndChecksum(p); return nil }
	}
	masked := v.masked
	copy(masked, got)
	if err := mf(masked, b.Blk); err != nil {
		v.mismatch(rec, b, -1, "mask redo result: "+err.Error())
		return
	}
	if err := mf(v.image, b.Blk); err != nil {
		v.mismatch(rec, b, -1, "mask logged image: "+err.Error())
		return
	}
	res.BlocksVerified++
	res.VerifiedByType[rec.TypeName()]++
	if off := firstDiff(masked, v.image); off >= 0 {
		m := v.mismatch(rec, b, off, fmt.Sprintf("redo %#02x, logged %#02x", masked[off], v.image[off]))
		if v.opts.OnMismatch != nil {
			v.opts.OnMismatch(m, masked, v.image)
		}
	}
}

func (v *verifier) mismatch(rec *wal.Record, b *wal.BlockRef, off int, reason string) Mismatch {
	res := v.result
	res.Mismatches++
	m := Mismatch{LSN: rec.LSN, Type: rec.TypeName(), BlockID: b.ID, Rel: b.Rel, Blk: b.Blk, Offset: off, Reason: reason}
	if len(res.FirstMismatches) < v.opts.MaxReports {
		res.FirstMismatches = append(res.FirstMismatches, m)
	}
	return m
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// DiffWindow formats the 8-byte rows of two pages around offset off, with
// the page header, for mismatch reports.
func DiffWindow(redo, logged []byte, off int) string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "header redo   % x\nheader logged % x\n", redo[:24], logged[:24])
	start := max(0, off&^7-16)
	for i := start; i < min(len(redo), off&^7+24); i += 8 {
		fmt.Fprintf(&b, "%5d redo % x   logged % x\n", i, redo[i:i+8], logged[i:i+8])
	}
	return b.String()
}
