# Splits a sentence into words. Input: {"text": "..."} or a plain string.
def init(ctx):
    ctx.state.setdefault("seen", 0)


def on_message(msg, ctx):
    text = msg.payload["text"] if isinstance(msg.payload, dict) else str(msg.payload)
    if ctx.config.get("lower"):
        text = text.lower()
    ctx.state["seen"] += 1
    return {"words": text.split(), "n": ctx.state["seen"]}
