# Computes 100 / divisor. Inject {"divisor": 0} to see a module error (with the
# input and the stack) in `flowctl tail` and `flowctl getFlow errors`; inject
# {"divisor": 0.5} to see the Node.js module fail instead. The flow goes on.
def on_message(msg, ctx):
    divisor = msg.payload["divisor"]
    print(f"dividing by {divisor}")  # captured as this module's log
    return {"divisor": divisor, "result": 100 / divisor}
