# The python3 shim's modules, a package so that their names cannot meet a function's own modules (events, output, …).
