// Package layer reads and writes layer files: the immutable files that hold
// the versions of keys over a key range × LSN range.
//
// A delta layer holds versions (images or WAL records) of keys in its key
// range for LSNs in its LSN range; an image layer holds one image of every
// key that exists in its key range at one LSN. L0 deltas (IsL0) cover the
// whole key space and are the output of flushing an in-memory layer.
//
// Files are named by Name.String (the same forms as Neon):
//
//	delta  000000000000000000000000000000000000-FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF__0000000001696070-00000000016960E9
//	image  000000067F000032AC000040000000000000-000000067F000032AC000040000000000100__00000000016960E8
//
// Writers (DeltaWriter, ImageWriter) write under a temp name (IsTempName),
// then fsync, rename to the final name and fsync the directory, so a layer
// file with a final name is always complete.
//
// Every part of a file carries a CRC-32C (the summary, the fence, each leaf
// block of the index, each value blob), so any flipped byte is reported as an
// error wrapping ErrCorrupt by the read that touches it; a Reader never
// returns data from a part that failed its check. The format is specified in
// docs/format/layers.md and summarized in format.go.
package layer
