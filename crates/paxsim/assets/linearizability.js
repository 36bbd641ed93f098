// linearizability.js: draws a linearizability failure the way Porcupine
// does. The operations on the failing key sit one row per client on a time
// axis that keeps their order but is stretched so that every box fits its
// text. The longest linearizable prefix is a chain of linearization points
// (where each operation takes effect); the operations that could come next
// but cannot are marked in red, the blamed one in bold.
'use strict'

const LIN = {pad: 14, gutterW: 86, boxH: 28, rowGap: 18, gap: 18, step: 16, bleed: 5, textPad: 12, inset: 8,
  // The operations' text is 11.5px monospace, wider than the lanes' 11px.
  charPx: 7.2}

function drawLinearizability(page) {
  const failure = page.data.linearizability
  const ops = failure.ops.map((id) => page.model.opById.get(id))
  ops.sort((a, b) => a.invoke_us - b.invoke_us || a.id - b.id)
  const clients = [...new Set(ops.map((op) => op.client))].sort((a, b) => a - b)
  const rowOf = new Map(clients.map((client, index) => [client, index]))
  const rowY = (op) => LIN.pad + 14 + rowOf.get(op.client) * (LIN.boxH + LIN.rowGap)
  const prefix = failure.prefix.map((id) => page.model.opById.get(id))
  const candidates = nextCandidates(ops, failure)
  const layout = linearizationLayout(ops, prefix, candidates)

  document.getElementById('lin').hidden = false
  const title = document.getElementById('lin-title')
  title.textContent = 'Linearizability of key '
  html('span', {class: 'key'}, failure.key, title)
  const blamed = failure.unplaceable === null ? null : page.model.opById.get(failure.unplaceable)
  document.getElementById('lin-summary').textContent =
    'The longest linearizable prefix orders ' + prefix.length + ' of the ' + ops.length +
    ' operations on this key (black: each tick is where an operation takes effect). ' +
    (blamed ? 'Next, client ' + blamed.client + "'s " + opLabel(blamed) + ' cannot be placed (bold red)' +
      (candidates.length > 1 ? ', nor can the other red candidates.' : '.') : 'No operation can be placed next.')

  // The client labels stay put while the operations scroll.
  const width = layout.width + LIN.pad * 3
  const height = LIN.pad * 2 + 14 + clients.length * (LIN.boxH + LIN.rowGap)
  const labels = document.getElementById('lin-labels')
  labels.textContent = ''
  labels.setAttribute('width', LIN.gutterW)
  labels.setAttribute('height', height)
  for (const client of clients) {
    const label = svg('text', {class: 'lin-client', x: LIN.gutterW - 10,
      y: LIN.pad + 14 + rowOf.get(client) * (LIN.boxH + LIN.rowGap) + LIN.boxH / 2}, labels)
    label.textContent = 'client ' + client
  }
  const root = document.getElementById('lin-svg')
  root.textContent = ''
  root.setAttribute('width', width)
  root.setAttribute('height', height)
  const x = (px) => LIN.pad + px
  const prefixIds = new Set(failure.prefix)
  const candidateIds = new Set(candidates.map((op) => op.id))
  for (const op of ops) {
    const x0 = x(layout.start.get(op.id))
    const x1 = x(layout.end.get(op.id))
    const role = prefixIds.has(op.id) ? 'in-prefix' : op.id === failure.unplaceable ? 'unplaceable'
      : candidateIds.has(op.id) ? 'candidate' : 'rest'
    const group = svg('g', {class: 'lin-op-group', 'data-ref': 'op:' + op.id}, root)
    svg('rect', {class: 'lin-op ' + role + (op.complete_us === null ? ' pending' : ''), x: x0, y: rowY(op),
      width: x1 - x0, height: LIN.boxH, rx: 4}, group)
    const text = svg('text', {class: 'lin-text', x: (x0 + x1) / 2, y: rowY(op) + LIN.boxH / 2 + 1}, group)
    text.textContent = linLabel(op)
    const tip = svg('title', {}, group)
    tip.textContent = opLabel(op) + '\ninvoked ' + formatUs(op.invoke_us) + ', completed ' + formatUs(op.complete_us) +
      '\n' + (linearizabilityRole(page.data, op.id) || '')
    group.addEventListener('click', () => select(page, 'op:' + op.id))
  }
  let points = 0
  let previous = null
  for (const [index, op] of prefix.entries()) {
    const px = x(layout.point.get(op.id))
    drawPoint(root, 'lin-point', previous, {x: px, op}, rowY)
    const state = failure.prefix_states[index]
    if (state !== undefined) {
      const tip = svg('title', {}, root.lastChild)
      tip.textContent = '#' + (index + 1) + ' ' + opLabel(op) + '\nstate after: ' + state
    }
    previous = {x: px, op}
    points++
  }
  for (const op of candidates) {
    const cls = op.id === failure.unplaceable ? 'lin-point bad blamed' : 'lin-point bad'
    drawPoint(root, cls, previous, {x: x(layout.point.get(op.id)), op}, rowY)
    if (op.id === failure.unplaceable) {
      const note = svg('text', {class: 'lin-blame', x: x(layout.point.get(op.id)) + 6, y: rowY(op) - LIN.bleed - 4}, root)
      note.textContent = 'cannot be placed'
    }
  }
  // Open on the failure, as Porcupine's "jump to first error" does.
  const scroller = document.getElementById('lin-scroll')
  const focus = blamed ? x(layout.point.get(blamed.id)) : x(layout.width)
  const jump = () => { scroller.scrollLeft = Math.max(0, focus - scroller.clientWidth * 0.6) }
  jump()
  document.getElementById('lin-jump').addEventListener('click', jump)
  return {ops: ops.length, points}
}

// The unlinearized operations that could come right after the prefix: no
// other remaining completed operation returned before they were invoked
// (equal times count as concurrent, as in the checker).
function nextCandidates(ops, failure) {
  const placed = new Set(failure.prefix)
  const remaining = ops.filter((op) => !placed.has(op.id))
  let minEnd = Infinity
  for (const op of remaining) if (op.complete_us !== null) minEnd = Math.min(minEnd, op.complete_us)
  return remaining.filter((op) => op.invoke_us <= minEnd || op.id === failure.unplaceable)
}

function linLabel(op) {
  return op.kind + (op.input ? '(' + op.input + ')' : '()') + ' \u2192 ' + (op.result === null ? '?' : op.result)
}

// Pixel positions: time order is kept, every box is wide enough for its
// text and for the linearization points it must hold. Porcupine solves the
// same constraints in one left-to-right scan; here the scan is repeated,
// widening boxes whose point fell outside, until nothing moves.
function linearizationLayout(ops, prefix, candidates) {
  const minWidth = new Map(ops.map((op) => [op.id, linLabel(op).length * LIN.charPx + 2 * LIN.textPad]))
  let layout = null
  for (let round = 0; round < 50; round++) {
    layout = scanLayout(ops, minWidth)
    layout.point = new Map()
    let last = null
    for (const op of prefix) {
      const at = last === null ? layout.start.get(op.id) + LIN.inset : Math.max(layout.start.get(op.id) + LIN.inset, last + LIN.step)
      layout.point.set(op.id, at)
      last = at
    }
    for (const op of candidates) {
      const at = last === null ? layout.start.get(op.id) + LIN.inset : Math.max(layout.start.get(op.id) + LIN.inset, last + LIN.step)
      layout.point.set(op.id, at)
    }
    let moved = false
    for (const [id, at] of layout.point) {
      const need = at + LIN.inset - layout.start.get(id)
      if (layout.end.get(id) < at + LIN.inset && need > minWidth.get(id)) {
        minWidth.set(id, need)
        moved = true
      }
    }
    if (!moved) break
  }
  return layout
}

function scanLayout(ops, minWidth) {
  const times = new Set()
  for (const op of ops) {
    times.add(op.invoke_us)
    if (op.complete_us !== null) times.add(op.complete_us)
  }
  const sorted = [...times].sort((a, b) => a - b)
  const endingAt = new Map()
  for (const op of ops) {
    if (op.complete_us === null) continue
    if (!endingAt.has(op.complete_us)) endingAt.set(op.complete_us, [])
    endingAt.get(op.complete_us).push(op)
  }
  const position = new Map()
  let last = 0
  for (const [index, time] of sorted.entries()) {
    let at = index === 0 ? 0 : last + LIN.gap
    for (const op of endingAt.get(time) || []) {
      at = Math.max(at, position.get(op.invoke_us) + minWidth.get(op.id))
    }
    position.set(time, at)
    last = at
  }
  const start = new Map()
  const end = new Map()
  let width = last
  for (const op of ops) {
    start.set(op.id, position.get(op.invoke_us))
    // An unanswered operation stays open to the right edge.
    const stop = op.complete_us === null
      ? Math.max(last + 2 * LIN.gap, position.get(op.invoke_us) + minWidth.get(op.id))
      : position.get(op.complete_us)
    end.set(op.id, stop)
    width = Math.max(width, stop)
  }
  return {start, end, width}
}

// A linearization point: a tick across the operation's box, joined to the
// previous point by a line from the bottom or the top of the tick,
// whichever faces it.
function drawPoint(root, cls, previous, current, rowY) {
  const y = rowY(current.op) - LIN.bleed
  const tall = LIN.boxH + 2 * LIN.bleed
  const group = svg('g', {class: cls}, root)
  if (previous !== null) {
    const py = rowY(previous.op) - LIN.bleed
    const down = py <= y
    svg('line', {class: 'lin-link', x1: previous.x, x2: current.x,
      y1: down ? py + tall : py, y2: down ? y : y + tall}, group)
  }
  svg('line', {class: 'lin-tick', x1: current.x, x2: current.x, y1: y, y2: y + tall}, group)
}
