package layermap

import (
	"slices"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/layer"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// ImageLayerExists reports whether image layers whose LSN lies in lsns jointly
// cover every key of keys. Example: images [0,5)@10 and [5,9)@12 cover
// [0,9) for lsns [10,13) but not for [11,13).
func (m *Map) ImageLayerExists(keys key.Range, lsns layer.LSNRange) bool {
	if keys.IsEmpty() {
		return true
	}
	pos := keys.Start
	for {
		best, found := key.Key{}, false
		for _, n := range m.layers {
			if !isImage(n) || n.LSNs.Start < lsns.Start || n.LSNs.Start >= lsns.End || !n.Keys.Contains(pos) {
				continue
			}
			if !found || best.Less(n.Keys.End) {
				best, found = n.Keys.End, true
			}
		}
		if !found {
			return false
		}
		if !best.Less(keys.End) {
			return true
		}
		pos = best
	}
}

// Coverage is one piece of the answer of ImageCoverage: the newest image layer
// at or below the queried LSN that covers all of Keys, if HasImage.
type Coverage struct {
	Keys     key.Range
	Image    layer.Name
	HasImage bool
}

// ImageCoverage splits keys at every boundary of an image layer at or below
// at and reports, for each piece, the newest such image layer covering it.
// Adjacent pieces with the same answer are merged. The pieces are in key
// order and cover keys exactly.
func (m *Map) ImageCoverage(keys key.Range, at lsn.LSN) []Coverage {
	if keys.IsEmpty() {
		return nil
	}
	bounds := []key.Key{keys.Start, keys.End}
	var imgs []layer.Name
	for _, n := range m.layers {
		if !isImage(n) || n.LSNs.Start > at || !n.Keys.Overlaps(keys) {
			continue
		}
		imgs = append(imgs, n)
		for _, b := range []key.Key{n.Keys.Start, n.Keys.End} {
			if keys.Start.Less(b) && b.Less(keys.End) {
				bounds = append(bounds, b)
			}
		}
	}
	slices.SortFunc(bounds, key.Key.Compare)
	bounds = slices.Compact(bounds)
	var out []Coverage
	for i := 0; i+1 < len(bounds); i++ {
		piece := key.Range{Start: bounds[i], End: bounds[i+1]}
		c := Coverage{Keys: piece}
		for _, n := range imgs {
			if !n.Keys.Contains(piece.Start) {
				continue
			}
			if !c.HasImage || n.LSNs.Start > c.Image.LSNs.Start ||
				(n.LSNs.Start == c.Image.LSNs.Start && compareNames(n, c.Image) < 0) {
				c.Image, c.HasImage = n, true
			}
		}
		if k := len(out); k > 0 && out[k-1].HasImage == c.HasImage && out[k-1].Image == c.Image {
			out[k-1].Keys.End = piece.End
			continue
		}
		out = append(out, c)
	}
	return out
}

// CountDeltas counts the delta layers overlapping both keys and lsns. L0
// layers are counted only when keys is the whole key space: they overlap
// every key range, and counting them would make every partition look as if
// it needed a new image layer.
func (m *Map) CountDeltas(keys key.Range, lsns layer.LSNRange) int {
	count := 0
	for _, n := range m.layers {
		if isImage(n) || !n.Keys.Overlaps(keys) || n.LSNs.Start >= lsns.End || lsns.Start >= n.LSNs.End {
			continue
		}
		if n.IsL0() && keys != key.All {
			continue
		}
		count++
	}
	return count
}

func isImage(n layer.Name) bool { return n.Kind == layer.KindImage }
