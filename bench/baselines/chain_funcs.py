"""The per-message work of the in-runtime python chain, shared by every python baseline:
make (the generator), three maps, and the counting sink. The engine's modules in
bench/polyflow_bench/flows.py do exactly this work."""


def make(i):
    return {"i": i, "sku": "ABC-12345", "qty": 3, "price": 19.99}


def m1(p):
    return {**p, "qty": p["qty"] * 2}


def m2(p):
    return {**p, "total": p["qty"] * p["price"]}


def m3(p):
    return {**p, "ok": True}
