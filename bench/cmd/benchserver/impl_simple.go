package main

import "github.com/simpleserver-go/simpleserver/bench/srv/simple"

func init() { impls["simple"] = simple.Start }
