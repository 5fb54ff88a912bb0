module example.com/fuzzy

go 1.26
