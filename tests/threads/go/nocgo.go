//go:build !cgo

package main

func cgoReport() string { return "off" }
