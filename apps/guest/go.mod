module hearth/guest

go 1.19
