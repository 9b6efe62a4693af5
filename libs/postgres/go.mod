module github.com/stratadb/strata/libs/postgres

go 1.26.0

require (
	github.com/klauspost/compress v1.20.4
	github.com/pierrec/lz4/v4 v4.1.33
	github.com/stratadb/strata/libs/engine v0.0.0
)

replace github.com/stratadb/strata/libs/engine => ../engine
