module github.com/stratadb/strata/libs/postgres

go 1.26.0

require github.com/stratadb/strata/libs/engine v0.0.0

replace github.com/stratadb/strata/libs/engine => ../engine
