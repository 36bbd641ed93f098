// controls.js: everything around the drawing in timeline.js: the header
// and the violation banner, the filters, zoom and pan by mouse and keys,
// selection and the details panel, the legend, and the page's address
// (`#view=T0-T1&select=op:3&hide=Heartbeat,timers&slot=4&nodes=2&key=k`, or
// `#focus=violation`), which opens the page on a chosen view. Entry point:
// paxsimTimeline(data).
'use strict'

function paxsimTimeline(data) {
  const page = new TimelinePage(data)
  fillHeader(page)
  buildFilters(page)
  const address = new URLSearchParams(location.hash.slice(1))
  applyAddress(page, address)
  page.draw()
  if (address.get('focus') === 'violation') showViolation(page)
  const lin = data.linearizability ? drawLinearizability(page) : {ops: 0, points: 0}
  if (page.selected) showDetails(page, page.selected)
  buildLegend()
  wireControls(page)
  const report = document.getElementById('report')
  report.setAttribute('data-lin-ops', String(lin.ops))
  report.setAttribute('data-lin-points', String(lin.points))
  // Force layout, so the time covers parsing, drawing and layout.
  document.body.getBoundingClientRect()
  report.setAttribute('data-render-ms', performance.now().toFixed(0))
  report.setAttribute('data-ready', 'true')
  return page
}

function fillHeader(page) {
  const data = page.data
  document.title = 'paxsim: ' + data.title
  document.getElementById('title').textContent = data.title
  const command = document.getElementById('command')
  command.textContent = data.command
  command.hidden = data.command === ''
  const numbers = [
    [data.nodes, 'nodes'], [data.clients, 'clients'], [data.events, 'events'],
    [data.messages.length, 'messages'], [data.operations.length, 'operations'],
    [data.chosen.length, 'slots chosen'],
  ]
  const summary = document.getElementById('summary')
  for (const [value, label] of numbers) {
    const item = html('span', {class: 'stat'}, null, summary)
    html('b', {}, value.toLocaleString('en-US'), item)
    item.appendChild(document.createTextNode(' ' + label))
  }
  html('span', {class: 'stat'}, formatUs(data.end_us) + ' of virtual time', summary)
  if (data.truncated) {
    html('span', {class: 'stat truncated', id: 'truncated'}, 'truncated after event ' +
      data.truncated.after_event.toLocaleString('en-US') + ' (' + formatUs(data.truncated.time_us) +
      '): the recording keeps at most ' + data.truncated.records_max.toLocaleString('en-US') +
      ' messages, timers, spans and slots', summary)
  }
  const violation = data.violation
  if (!violation) return
  document.getElementById('banner').hidden = false
  document.getElementById('banner-title').textContent = '\u2716 ' + violation.invariant +
    ' violated at event ' + violation.event + ', t = ' + formatUs(violation.time_us)
  document.getElementById('banner-text').textContent = violation.text
}

function buildFilters(page) {
  const kinds = document.getElementById('kind-filters')
  const entries = page.model.kinds.map((kind) => [kind, page.model.colors.get(kind), page.model.kindCount.get(kind)])
  if (page.data.timers.length > 0) entries.push(['timers', '#52606d', page.data.timers.length])
  for (const [kind, color, count] of entries) {
    const chip = html('button', {type: 'button', class: 'chip', 'data-kind': kind}, null, kinds)
    html('span', {class: 'swatch', style: 'background:' + color}, null, chip)
    chip.appendChild(document.createTextNode(kind))
    html('span', {class: 'count'}, String(count), chip)
    chip.addEventListener('click', () => {
      toggle(page.hiddenKinds, kind)
      syncFilters(page)
      page.draw()
    })
  }
  const nodes = document.getElementById('node-filters')
  for (let node = 0; node < page.data.nodes; node++) {
    const chip = html('button', {type: 'button', class: 'chip', 'data-node': String(node)}, 'n' + node, nodes)
    chip.addEventListener('click', () => {
      toggle(page.hiddenNodes, node)
      syncFilters(page)
      page.draw()
    })
  }
  const key = page.model.failingKey
  if (key !== null) {
    document.getElementById('key-filter').hidden = false
    const only = document.getElementById('only-key')
    only.textContent = 'only ' + key
    only.addEventListener('click', () => {
      page.onlyKey = page.onlyKey === null ? key : null
      syncFilters(page)
      page.draw()
    })
  }
  document.getElementById('slot-filter').addEventListener('input', (event) => {
    const value = event.target.value.trim()
    page.slot = /^\d+$/.test(value) ? Number(value) : null
    page.draw()
  })
}

function toggle(set, value) {
  if (set.has(value)) set.delete(value)
  else set.add(value)
}

function syncFilters(page) {
  for (const chip of document.querySelectorAll('#kind-filters .chip')) {
    chip.classList.toggle('off', page.hiddenKinds.has(chip.getAttribute('data-kind')))
  }
  for (const chip of document.querySelectorAll('#node-filters .chip')) {
    chip.classList.toggle('off', page.hiddenNodes.has(Number(chip.getAttribute('data-node'))))
  }
  document.getElementById('slot-filter').value = page.slot === null ? '' : String(page.slot)
  document.getElementById('only-key').classList.toggle('off', page.onlyKey === null)
}

function applyAddress(page, params) {
  for (const kind of (params.get('hide') || '').split(',')) if (kind) page.hiddenKinds.add(kind)
  for (const node of (params.get('nodes') || '').split(',')) if (node) page.hiddenNodes.add(Number(node))
  if (/^\d+$/.test(params.get('slot') || '')) page.slot = Number(params.get('slot'))
  if (params.has('key')) page.onlyKey = params.get('key')
  const view = /^(-?\d+(?:\.\d+)?)-(\d+(?:\.\d+)?)$/.exec(params.get('view') || '')
  if (view && Number(view[2]) > Number(view[1])) page.view = {t0: Number(view[1]), t1: Number(view[2])}
  if (params.has('select')) page.selected = params.get('select')
  syncFilters(page)
}

function wireControls(page) {
  const root = page.svg
  root.addEventListener('wheel', (event) => {
    event.preventDefault()
    const box = root.getBoundingClientRect()
    if (event.shiftKey || Math.abs(event.deltaX) > Math.abs(event.deltaY)) {
      page.panBy(event.deltaX + (event.shiftKey ? event.deltaY : 0))
    } else {
      page.zoomBy(Math.exp(Math.max(-0.5, Math.min(0.5, event.deltaY * 0.0015))),
        page.timeAt(event.clientX - box.left))
    }
  }, {passive: false})
  let drag = null
  root.addEventListener('mousedown', (event) => {
    if (event.button !== 0) return
    drag = {x: event.clientX, view: page.view, scale: page.scale, moved: false}
    event.preventDefault()
  })
  window.addEventListener('mousemove', (event) => {
    if (!drag) return
    const dx = event.clientX - drag.x
    if (Math.abs(dx) > 3) drag.moved = true
    if (!drag.moved) return
    page.view = {t0: drag.view.t0 - dx / drag.scale, t1: drag.view.t1 - dx / drag.scale}
    root.classList.add('dragging')
    page.scheduleDraw()
  })
  window.addEventListener('mouseup', (event) => {
    if (!drag) return
    const wasClick = !drag.moved
    drag = null
    root.classList.remove('dragging')
    if (wasClick) clickAt(page, event)
  })
  root.addEventListener('dblclick', (event) => {
    page.zoomBy(0.4, page.timeAt(event.clientX - root.getBoundingClientRect().left))
  })
  window.addEventListener('keydown', (event) => {
    if (event.target.tagName === 'INPUT') return
    const keys = {
      '+': () => page.zoomBy(0.6), '=': () => page.zoomBy(0.6), '-': () => page.zoomBy(1.6),
      0: () => { page.fit(); page.draw() }, v: () => showViolation(page),
      ArrowLeft: () => page.panBy(-120), ArrowRight: () => page.panBy(120),
      Escape: () => select(page, null),
    }
    if (keys[event.key]) keys[event.key]()
  })
  window.addEventListener('resize', () => page.scheduleDraw())
  document.getElementById('zoom-in').addEventListener('click', () => page.zoomBy(0.6))
  document.getElementById('zoom-out').addEventListener('click', () => page.zoomBy(1.6))
  document.getElementById('zoom-fit').addEventListener('click', () => { page.fit(); page.draw() })
  const toViolation = document.getElementById('zoom-violation')
  toViolation.disabled = !page.data.violation
  toViolation.addEventListener('click', () => showViolation(page))
  document.getElementById('banner-show').addEventListener('click', () => showViolation(page))
}

// Select what is under the pointer: an element, or the nearest message
// within a few pixels (merged messages have no element of their own).
function clickAt(page, event) {
  const target = event.target.closest ? event.target.closest('[data-ref]') : null
  if (target) return select(page, target.getAttribute('data-ref'))
  const box = page.svg.getBoundingClientRect()
  const px = event.clientX - box.left
  const py = event.clientY - box.top
  let best = null
  let bestDistance = 6
  for (const {message, g} of page.visibleMessages) {
    const distance = segmentDistance(px, py, g)
    if (distance < bestDistance) {
      best = message
      bestDistance = distance
    }
  }
  select(page, best ? 'm:' + best.id : null)
}

function segmentDistance(px, py, g) {
  const dx = g.x2 - g.x1
  const dy = g.y2 - g.y1
  const lengthSquared = dx * dx + dy * dy || 1
  const along = Math.max(0, Math.min(1, ((px - g.x1) * dx + (py - g.y1) * dy) / lengthSquared))
  return Math.hypot(px - (g.x1 + along * dx), py - (g.y1 + along * dy))
}

function select(page, ref) {
  page.selected = ref
  page.draw()
  for (const element of document.querySelectorAll('#lin-svg .selected')) element.classList.remove('selected')
  if (ref) {
    const selector = '#lin-svg [data-ref="' + CSS.escape(ref) + '"]'
    for (const element of document.querySelectorAll(selector)) element.classList.add('selected')
  }
  showDetails(page, ref)
}

function showViolation(page) {
  const violation = page.data.violation
  if (!violation) return
  // The operations it implicates, if any: a linearizability failure is
  // found at the end of the run, long after them.
  let start = violation.ops.length ? Infinity : violation.time_us
  let end = violation.ops.length ? -Infinity : violation.time_us
  for (const id of violation.ops) {
    const op = page.model.opById.get(id)
    start = Math.min(start, op.invoke_us)
    end = Math.max(end, op.complete_us === null ? op.invoke_us : op.complete_us)
  }
  if (end - start < page.data.end_us * 0.02) {
    start -= page.data.end_us * 0.02
    end += page.data.end_us * 0.02
  }
  page.selected = 'violation'
  page.zoomTo(start, end)
  showDetails(page, 'violation')
}

// ----------------------------------------------------------- details panel

function showDetails(page, ref) {
  const panel = document.getElementById('details')
  panel.textContent = ''
  if (!ref) {
    html('p', {class: 'muted'}, 'Click a message, an operation, a span or a slot.', panel)
    return
  }
  const [kind, id] = splitRef(ref)
  const builders = {m: messageDetails, op: opDetails, slot: slotDetails, span: spanDetails,
    partition: partitionDetails, timer: timerDetails, lane: laneDetails, violation: violationDetails}
  const builder = builders[kind]
  const found = builder ? builder(page, id, panel) : false
  if (found === false) html('p', {class: 'muted'}, 'Nothing is called ' + ref + ' on this page.', panel)
}

function rows(panel, title, entries) {
  html('h3', {}, title, panel)
  const list = html('dl', {}, null, panel)
  for (const [name, value] of entries) {
    if (value === null || value === undefined || value === '') continue
    html('dt', {}, name, list)
    html('dd', {}, String(value), list)
  }
  return list
}

function zoomButton(page, panel, label, start, end) {
  const button = html('button', {type: 'button', class: 'small'}, label, panel)
  button.addEventListener('click', () => page.zoomTo(start, end))
}

function messageDetails(page, id, panel) {
  const message = page.model.msgById.get(Number(id))
  if (!message) return false
  const delay = message.receive_us === null ? null : formatUs(message.receive_us - message.send_us)
  rows(panel, message.kind + ' message ' + message.id, [
    ['from', endpointName(message.from)], ['to', endpointName(message.to)],
    ['sent', formatUs(message.send_us)],
    ['arrived', message.arrive_us === null ? null : formatUs(message.arrive_us) + ' (receiver paused)'],
    ['received', message.receive_us === null ? null : formatUs(message.receive_us) + ' (after ' + delay + ')'],
    ['fate', FATE_TEXT[message.fate] || message.fate], ['copy', message.duplicate ? 'duplicate made by the network' : null],
    ['slot', message.slot],
  ])
  html('pre', {}, message.text, panel)
  zoomButton(page, panel, 'Zoom to', message.send_us, page.messageEnd(message))
  if (message.slot !== null) {
    const only = html('button', {type: 'button', class: 'small'}, 'Only slot ' + message.slot, panel)
    only.addEventListener('click', () => {
      page.slot = message.slot
      syncFilters(page)
      page.draw()
    })
  }
}

function opDetails(page, id, panel) {
  const op = page.model.opById.get(Number(id))
  if (!op) return false
  const latency = op.complete_us === null ? null : formatUs(op.complete_us - op.invoke_us)
  rows(panel, 'Operation ' + op.id + ': client ' + op.client + ' #' + op.seq, [
    ['call', opCall(op)], ['result', op.result === null ? 'never answered (may or may not have taken effect)' : op.result],
    ['invoked', formatUs(op.invoke_us)], ['completed', op.complete_us === null ? null : formatUs(op.complete_us) + ' (after ' + latency + ')'],
    ['attempts', op.attempts.map((a) => 'node ' + a.node + ' at ' + formatUs(a.send_us)).join('\n')],
    ['linearizability', linearizabilityRole(page.data, op.id)],
    ['violation', page.model.implicatedOps.has(op.id) ? 'implicated by the report' : null],
  ])
  zoomButton(page, panel, 'Zoom to', op.invoke_us, op.complete_us === null ? page.data.end_us : op.complete_us)
}

function linearizabilityRole(data, id) {
  const failure = data.linearizability
  if (!failure || !failure.ops.includes(id)) return null
  const position = failure.prefix.indexOf(id)
  if (position >= 0) {
    const state = failure.prefix_states.length ? '; state after: ' + failure.prefix_states[position] : ''
    return 'linearized #' + (position + 1) + ' of the longest prefix' + state
  }
  if (failure.unplaceable === id) return 'cannot be placed after the longest prefix'
  return 'on the failing key, not in the longest prefix'
}

function slotDetails(page, id, panel) {
  const chosen = page.model.chosenBySlot.get(Number(id))
  if (!chosen) return false
  rows(panel, 'Slot ' + chosen.slot, [['chosen at', formatUs(chosen.time_us)]])
  html('pre', {}, chosen.value, panel)
  const only = html('button', {type: 'button', class: 'small'}, 'Only its messages', panel)
  only.addEventListener('click', () => {
    page.slot = chosen.slot
    syncFilters(page)
    page.draw()
  })
}

function spanDetails(page, id, panel) {
  const span = page.data.node_spans[Number(id)]
  if (!span) return false
  rows(panel, 'Node ' + span.node + ' ' + span.state, [
    ['from', formatUs(span.start_us)], ['until', span.end_us === null ? 'the end of the run' : formatUs(span.end_us)],
  ])
  zoomButton(page, panel, 'Zoom to', span.start_us, span.end_us === null ? page.data.end_us : span.end_us)
}

function partitionDetails(page, id, panel) {
  const partition = page.data.partitions[Number(id)]
  if (!partition) return false
  rows(panel, 'Partition ' + partition.text, [
    ['from', formatUs(partition.start_us)],
    ['until', partition.end_us === null ? 'the end of the run' : formatUs(partition.end_us)],
    ['links cut', partition.links_cut.map(([from, to]) => from + '\u2192' + to).join('  ')],
  ])
}

function timerDetails(page, id, panel) {
  const timer = page.data.timers[Number(id)]
  if (!timer) return false
  rows(panel, 'Timer ' + timer.timer, [['node', timer.node], ['fired', formatUs(timer.time_us)]])
}

function laneDetails(page, key, panel) {
  const lane = page.model.laneByKey.get(key)
  if (!lane) return false
  const sent = page.data.messages.filter((m) => endpointKey(m.from) === key).length
  const received = page.data.messages.filter((m) => endpointKey(m.to) === key).length
  const entries = [['messages sent', sent], ['messages addressed to it', received]]
  if (lane.kind === 'node') {
    const spans = page.data.node_spans.filter((span) => 'n' + span.node === key)
    entries.push(['crashes', spans.filter((span) => span.state === 'crashed').length])
    entries.push(['pauses', spans.filter((span) => span.state === 'paused').length])
    entries.push(['timers fired', page.data.timers.filter((timer) => 'n' + timer.node === key).length])
  }
  if (lane.kind === 'client') {
    const ops = page.data.operations.filter((op) => 'c' + op.client === key)
    entries.push(['operations', ops.length], ['never answered', ops.filter((op) => op.complete_us === null).length])
  }
  rows(panel, lane.label, entries)
}

function violationDetails(page, id, panel) {
  const violation = page.data.violation
  if (!violation) return false
  rows(panel, violation.invariant, [
    ['event', violation.event], ['time', formatUs(violation.time_us)], ['slot', violation.slot],
    ['key', violation.key], ['node', violation.node],
    ['operations', violation.ops.map((op) => 'op ' + op).join(', ')],
  ])
  html('pre', {}, violation.text, panel)
}

// ------------------------------------------------------------------ legend

function buildLegend() {
  const legend = document.getElementById('legend')
  const sample = (draw, text) => {
    const row = html('div', {class: 'legend-row'}, null, legend)
    const picture = svg('svg', {width: 46, height: 18, viewBox: '0 0 46 18'}, row)
    draw(picture)
    html('span', {}, text, row)
  }
  const arrow = (cls, end) => (picture) => {
    const g = {x1: 3, y1: 14, x2: end === 'head' ? 42 : 26, y2: end === 'head' ? 4 : 8}
    const group = svg('g', {class: 'msg ' + cls, style: 'color:#1d4ed8'}, picture)
    svg('path', {class: 'shaft', d: 'M' + g.x1 + ' ' + g.y1 + 'L' + g.x2 + ' ' + g.y2}, group)
    if (end === 'head') svg('path', {class: 'head', d: headPath(g)}, group)
    if (end === 'cross') svg('path', {class: 'cross', d: crossPath(g)}, picture)
    if (end === 'wall') svg('path', {class: 'wall', d: wallPath(g)}, picture)
    if (cls === 'dup') svg('circle', {class: 'dup-ring', cx: 3, cy: 14, r: 3}, group)
  }
  sample(arrow('', 'head'), 'message, from send to receive')
  sample(arrow('dup', 'head'), 'duplicate copy made by the network')
  sample(arrow('fate-dropped', 'cross'), 'dropped on the wire (or lost to a crashed receiver)')
  sample(arrow('fate-blocked', 'wall'), 'blocked by a partition')
  sample((p) => {
    svg('path', {class: 'hold', d: 'M4 9H42'}, p)
  }, 'held while the receiver was paused (to the end, if it never resumed)')
  const box = (cls, text) => sample((p) => svg('rect', {class: cls, x: 2, y: 2, width: 42, height: 14, rx: 3}, p), text)
  box('span crashed', 'node crashed')
  box('span paused', 'node paused')
  box('span recovering', 'node recovering after a restart')
  box('partition', 'partition in force (its nodes tinted)')
  box('op put done', 'operation, from invocation to result')
  box('op get pending', 'operation never answered')
  box('op put done implicated', 'implicated by the violation')
  sample((p) => svg('path', {class: 'timer', d: 'M23 13l-4 -7h8z'}, p), 'timer fired')
  sample((p) => svg('path', {class: 'chosen-mark', d: 'M23 4l5 5l-5 5l-5 -5z'}, p), 'slot chosen')
  sample((p) => svg('line', {class: 'violation-line', x1: 23, x2: 23, y1: 0, y2: 18}, p), 'the violating event')
}
