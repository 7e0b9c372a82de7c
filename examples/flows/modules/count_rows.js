// Counts the rows the browser module showed (examples/flows/browser.json); its output is the flow's.
exports.onMessage = (msg, ctx) => {
  ctx.state.rows = (ctx.state.rows || 0) + 1;
  return { rows: ctx.state.rows, lastRow: msg.payload.row };
};
