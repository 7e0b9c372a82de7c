# Turns a number (or {"value": n}) into {"value": n}; every target of "out" gets its own copy.
def on_message(msg, ctx):
    value = msg.payload["value"] if isinstance(msg.payload, dict) else msg.payload
    ctx.send("out", {"value": value})
