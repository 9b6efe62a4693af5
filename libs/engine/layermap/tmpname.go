package layermap

import (
	"fmt"

	"github.com/stratadb/strata/libs/engine/key"
	"github.com/stratadb/strata/libs/engine/lsn"
)

// Temporary stand-in for layer.Name until the layer package lands.

type Kind uint8

const (
	KindDelta Kind = iota + 1
	KindImage
)

type LSNRange struct{ Start, End lsn.LSN }

type Name struct {
	Kind Kind
	Keys key.Range
	LSNs LSNRange
}

func (n Name) String() string {
	if n.Kind == KindImage {
		return fmt.Sprintf("%s-%s__%s", n.Keys.Start, n.Keys.End, n.LSNs.Start.Hex())
	}
	return fmt.Sprintf("%s-%s__%s-%s", n.Keys.Start, n.Keys.End, n.LSNs.Start.Hex(), n.LSNs.End.Hex())
}

func (n Name) IsL0() bool { return n.Kind == KindDelta && n.Keys == key.All }
