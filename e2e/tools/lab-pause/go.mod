module wirekube.local/labpause

go 1.24.0
