module github.com/stratadb/strata/services/sizecalculator

go 1.26.0
