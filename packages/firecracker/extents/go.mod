module hearth/extents

go 1.19
