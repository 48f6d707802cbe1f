module mactux.test/threads

go 1.19
