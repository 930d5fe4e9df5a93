module github.com/simpleserver-go/simpleserver

go 1.26
