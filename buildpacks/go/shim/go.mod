module lambda.local/shim

go 1.19
