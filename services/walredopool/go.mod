module github.com/stratadb/strata/services/walredopool

go 1.26.0
