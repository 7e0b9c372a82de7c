# Keeps a running total of the scores in its state; its output is a flow output.
def init(ctx):
    ctx.state.setdefault("total", 0)


def on_message(msg, ctx):
    ctx.state["total"] += msg.payload["score"]
    return {"word": msg.payload["word"], "total": ctx.state["total"]}
