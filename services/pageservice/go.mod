module github.com/stratadb/strata/services/pageservice

go 1.26.0
