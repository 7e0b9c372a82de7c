// Fan-in: receives from "double" (Node, same instance: a direct call) and from
// "square" (Python, through the host), and keeps totals in ctx.state.
exports.init = (ctx) => {
  ctx.state.total = 0;
  ctx.state.count = 0;
};

exports.onMessage = async (msg, ctx) => {
  ctx.state.total += msg.payload.value;
  ctx.state.count += 1;
  ctx.send('out', { from: msg.payload.kind, value: msg.payload.value, total: ctx.state.total, count: ctx.state.count });
};
