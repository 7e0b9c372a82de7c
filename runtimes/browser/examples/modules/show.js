// A browser module: each message becomes a row of the table of the page that runs it
// (runtimes/browser/examples/table.html), then goes on to the next module.
exports.init = (ctx) => {
  ctx.state.shown = ctx.state.shown || 0;
};

exports.onMessage = (msg, ctx) => {
  const table = document.querySelector('#rows tbody');
  if (table === null) throw new Error('this page has no table #rows: open runtimes/browser/examples/table.html');
  const row = document.createElement('tr');
  ctx.state.shown += 1;
  for (const text of [String(ctx.state.shown), JSON.stringify(msg.payload), new Date().toLocaleTimeString()]) {
    const cell = document.createElement('td');
    cell.textContent = text;
    row.append(cell);
  }
  table.prepend(row);
  console.log(`row ${ctx.state.shown}`);
  return msg.payload;
};
