# Keeps a running total of the words counted upstream and says where it ran.
import os


def init(ctx):
    ctx.state.setdefault("words", 0)


def on_message(msg, ctx):
    ctx.state["words"] += msg.payload["count"]
    return {"n": msg.payload["n"], "total": ctx.state["words"], "pid": os.getpid()}
