// timeline.js: draws one paxsim run from its timeline JSON (the shape is
// `sim::timeline::Timeline`) on a zoomable time axis: a lane per node and
// per client, messages as arrows, faults as shaded spans, client operations
// as bars, the chosen slots, and the violation. It owns zoom, pan, filters,
// selection and the details panel; linearizability.js draws a
// linearizability failure below. Nothing here touches the network.
'use strict'

const SVG_NS = 'http://www.w3.org/2000/svg'
const LAYOUT = {axisH: 54, laneH: 44, auxH: 26, gutterW: 104, rightPad: 16, bottomPad: 8}
// Above this many messages (or timers, or slots) in view, they are drawn as
// merged paths: thousands of separate SVG elements make zoom and pan stutter.
const DENSE_LIMIT = 1500
const STUB_PX_MIN = 18
const CHAR_PX = 6.6
const KIND_ORDER = ['Request', 'Reply', 'Prepare', 'Promise', 'Nack', 'Accept', 'Accepted',
  'Decide', 'Heartbeat', 'CatchupRequest', 'CatchupReply']
const KIND_COLORS = {
  Request: '#334e68', Reply: '#829ab1', Prepare: '#7c3aed', Promise: '#a78bfa', Nack: '#ea580c',
  Accept: '#1d4ed8', Accepted: '#60a5fa', Decide: '#059669', Heartbeat: '#b8c2cc',
  CatchupRequest: '#0891b2', CatchupReply: '#67c6d8',
}
const EXTRA_COLORS = ['#be185d', '#92400e', '#4d7c0f', '#ca8a04', '#4338ca']
const FATE_TEXT = {
  delivered: 'delivered', dropped: 'dropped on the wire', blocked: 'blocked by a partition',
  'lost-to-crash': 'lost: the receiver was down (or crashed while it waited)',
  held: 'held by its paused receiver until the run ended', 'in-flight': 'still in flight when the run ended',
}

function svg(tag, attributes, parent) {
  const element = document.createElementNS(SVG_NS, tag)
  for (const name in attributes) element.setAttribute(name, attributes[name])
  if (parent) parent.appendChild(element)
  return element
}

function html(tag, attributes, text, parent) {
  const element = document.createElement(tag)
  for (const name in attributes) element.setAttribute(name, attributes[name])
  if (text !== undefined && text !== null) element.textContent = text
  if (parent) parent.appendChild(element)
  return element
}

function formatUs(us) {
  if (us === null || us === undefined) return '\u2014'
  return (us / 1000).toFixed(3) + ' ms'
}

function endpointKey(endpoint) {
  return 'node' in endpoint ? 'n' + endpoint.node : 'c' + endpoint.client
}

function endpointName(endpoint) {
  return 'node' in endpoint ? 'node ' + endpoint.node : 'client ' + endpoint.client
}

function opCall(op) {
  return op.kind + '(' + op.key + (op.input ? ', ' + op.input : '') + ')'
}

function opLabel(op) {
  return opCall(op) + ' \u2192 ' + (op.result === null ? '?' : op.result)
}

// `text` cut to fit `widthPx`, or '' if fewer than `minChars` would show.
function clip(text, widthPx, minChars) {
  const chars = Math.floor(widthPx / CHAR_PX)
  if (chars < Math.min(minChars || 5, text.length)) return ''
  return text.length <= chars ? text : text.slice(0, chars - 1) + '\u2026'
}

function median(values) {
  if (values.length === 0) return 0
  const sorted = values.slice().sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

// Everything the drawing needs that does not change with the view.
function buildModel(data) {
  const model = {data, lanes: [], laneByKey: new Map(), opById: new Map(), msgById: new Map(),
    chosenBySlot: new Map(), kinds: [], kindCount: new Map(), colors: new Map()}
  let y = LAYOUT.axisH
  const addLane = (key, label, kind, height) => {
    const lane = {key, label, kind, y, height}
    model.lanes.push(lane)
    model.laneByKey.set(key, lane)
    y += height
    return lane
  }
  if (data.partitions.length > 0) addLane('net', 'network', 'aux', LAYOUT.auxH)
  for (let node = 0; node < data.nodes; node++) addLane('n' + node, 'node ' + node, 'node', LAYOUT.laneH)
  addLane('log', 'chosen', 'aux', LAYOUT.auxH)
  for (let client = 0; client < data.clients; client++) {
    addLane('c' + client, 'client ' + client, 'client', LAYOUT.laneH)
  }
  model.height = y + LAYOUT.bottomPad
  for (const op of data.operations) model.opById.set(op.id, op)
  for (const chosen of data.chosen) model.chosenBySlot.set(chosen.slot, chosen)
  const delays = []
  for (const message of data.messages) {
    model.msgById.set(message.id, message)
    model.kindCount.set(message.kind, (model.kindCount.get(message.kind) || 0) + 1)
    if (message.receive_us !== null) delays.push(message.receive_us - message.send_us)
  }
  const known = KIND_ORDER.filter((kind) => model.kindCount.has(kind))
  const others = [...model.kindCount.keys()].filter((kind) => !KIND_ORDER.includes(kind)).sort()
  model.kinds = known.concat(others)
  others.forEach((kind, index) => model.colors.set(kind, EXTRA_COLORS[index % EXTRA_COLORS.length]))
  for (const kind of known) model.colors.set(kind, KIND_COLORS[kind])
  // Dropped and blocked messages have no receive time: draw them as stubs
  // about half a typical delay long.
  model.stubUs = Math.max(1, median(delays) * 0.6)
  const violation = data.violation
  model.implicatedOps = new Set(violation ? violation.ops : [])
  model.failingKey = data.linearizability ? data.linearizability.key : (violation ? violation.key : null)
  return model
}

class TimelinePage {
  constructor(data) {
    this.data = data
    this.model = buildModel(data)
    this.svg = document.getElementById('timeline')
    this.chart = document.getElementById('chart')
    this.hiddenKinds = new Set()
    this.hiddenNodes = new Set()
    this.slot = null
    // When set, operations on other keys are dimmed.
    this.onlyKey = null
    this.selected = null
    this.visibleMessages = []
    this.stats = {}
    this.fit()
  }

  // ------------------------------------------------------------- the view

  fit() {
    const end = Math.max(this.data.end_us, 1)
    const pad = end * 0.01
    this.view = {t0: -pad, t1: end + pad}
  }

  zoomTo(start, end) {
    const span = Math.max(end - start, 20)
    const pad = span * 0.08
    this.view = {t0: start - pad, t1: start + span + pad}
    this.draw()
  }

  zoomBy(factor, atTime) {
    const {t0, t1} = this.view
    const at = atTime === undefined ? (t0 + t1) / 2 : atTime
    const span = Math.min(Math.max((t1 - t0) * factor, 10), Math.max(this.data.end_us, 1) * 4)
    const left = (at - t0) / (t1 - t0)
    this.view = {t0: at - span * left, t1: at - span * left + span}
    this.scheduleDraw()
  }

  panBy(px) {
    const dt = px / this.scale
    this.view = {t0: this.view.t0 + dt, t1: this.view.t1 + dt}
    this.scheduleDraw()
  }

  x(time) {
    return this.plotX0 + (time - this.view.t0) * this.scale
  }

  timeAt(px) {
    return this.view.t0 + (px - this.plotX0) / this.scale
  }

  laneMid(key) {
    const lane = this.model.laneByKey.get(key)
    return lane.y + lane.height / 2
  }

  inView(start, end) {
    return end >= this.view.t0 && start <= this.view.t1
  }

  // Redraw once per frame however many events come in. The timer is a
  // fallback for when frames do not run (a background tab, a headless run).
  scheduleDraw() {
    if (this.drawPending) return
    this.drawPending = true
    const drawOnce = () => {
      if (!this.drawPending) return
      this.drawPending = false
      this.draw()
    }
    requestAnimationFrame(drawOnce)
    setTimeout(drawOnce, 100)
  }

  // ---------------------------------------------------------- drawing

  draw() {
    const width = Math.max(this.chart.clientWidth, 480)
    this.plotX0 = LAYOUT.gutterW
    this.plotX1 = width - LAYOUT.rightPad
    this.scale = (this.plotX1 - this.plotX0) / (this.view.t1 - this.view.t0)
    const root = this.svg
    root.textContent = ''
    root.setAttribute('width', width)
    root.setAttribute('height', this.model.height)
    root.setAttribute('viewBox', '0 0 ' + width + ' ' + this.model.height)
    this.stats = {arrows: 0, bars: 0, timers: 0, chosen: 0, spans: 0, dense: false}
    this.drawDefs(root)
    this.drawBackground(svg('g', {class: 'layer-bg'}, root))
    this.drawAxis(svg('g', {class: 'layer-axis'}, root))
    const plot = svg('g', {'clip-path': 'url(#plot-clip)'}, root)
    this.drawSpans(svg('g', {class: 'layer-spans'}, plot))
    this.drawViolationLine(svg('g', {class: 'layer-violation'}, plot))
    this.drawTruncation(svg('g', {class: 'layer-truncation'}, plot))
    this.drawMessages(svg('g', {class: 'layer-messages'}, plot))
    this.drawTimers(svg('g', {class: 'layer-timers'}, plot))
    this.drawChosen(svg('g', {class: 'layer-chosen'}, plot))
    this.drawOperations(svg('g', {class: 'layer-ops'}, plot))
    this.drawSelection(svg('g', {class: 'layer-selection'}, plot))
    this.drawGutter(svg('g', {class: 'layer-gutter'}, root))
    const note = document.getElementById('view-note')
    note.textContent = this.stats.dense
      ? this.visibleMessages.length + ' messages in view, drawn merged: zoom in to see them one by one'
      : ''
    this.report()
  }

  drawDefs(root) {
    const defs = svg('defs', {}, root)
    const clip = svg('clipPath', {id: 'plot-clip'}, defs)
    svg('rect', {x: this.plotX0, y: 0, width: this.plotX1 - this.plotX0, height: this.model.height}, clip)
    const hatch = (id, color, background) => {
      const pattern = svg('pattern', {id, width: 6, height: 6, patternUnits: 'userSpaceOnUse',
        patternTransform: 'rotate(45)'}, defs)
      svg('rect', {width: 6, height: 6, fill: background}, pattern)
      svg('line', {x1: 0, y1: 0, x2: 0, y2: 6, stroke: color, 'stroke-width': 2.2}, pattern)
    }
    hatch('hatch-crashed', '#9aa5b1', '#e4e7eb')
    hatch('hatch-cut', 'rgba(124,58,237,0.22)', 'rgba(124,58,237,0.04)')
    const fade = svg('linearGradient', {id: 'fade-pending'}, defs)
    svg('stop', {offset: '0%', 'stop-color': '#fde68a', 'stop-opacity': 0.9}, fade)
    svg('stop', {offset: '100%', 'stop-color': '#fde68a', 'stop-opacity': 0.08}, fade)
  }

  drawBackground(layer) {
    const width = this.plotX1
    for (const lane of this.model.lanes) {
      const isLane = lane.kind === 'node' || lane.kind === 'client'
      svg('rect', {class: (isLane ? 'lane ' : 'aux-lane ') + lane.kind, x: 0, y: lane.y,
        width, height: lane.height, 'data-lane': lane.key}, layer)
      if (isLane) {
        const mid = lane.y + lane.height / 2
        svg('line', {class: 'lane-axis', x1: this.plotX0, x2: width, y1: mid, y2: mid}, layer)
      }
    }
    const phases = this.data.phases
    const end = this.data.end_us
    const top = LAYOUT.axisH
    const height = this.model.height - top - LAYOUT.bottomPad
    const band = (cls, start, stop, label) => {
      if (!this.inView(start, stop)) return
      const x0 = Math.max(this.x(start), this.plotX0)
      const x1 = Math.min(this.x(stop), this.plotX1)
      svg('rect', {class: 'phase ' + cls, x: x0, y: top, width: Math.max(x1 - x0, 0), height}, layer)
      svg('line', {class: 'phase-edge ' + cls, x1: this.x(start), x2: this.x(start), y1: 3, y2: top + height}, layer)
      const tag = svg('text', {class: 'phase-label ' + cls, x: x0 + 5, y: 9}, layer)
      tag.textContent = label
    }
    band('chaos', phases.chaos_start_us, phases.chaos_end_us === null ? end : phases.chaos_end_us, 'chaos')
    if (phases.heal_start_us !== null) band('heal', phases.heal_start_us, end, 'heal')
  }

  drawAxis(layer) {
    const span = this.view.t1 - this.view.t0
    const target = span / Math.max((this.plotX1 - this.plotX0) / 110, 1)
    const magnitude = Math.pow(10, Math.floor(Math.log10(target)))
    // Whole microseconds at most: times are integers.
    const step = Math.max(1, [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= target))
    const decimals = Math.max(0, Math.ceil(-Math.log10(step / 1000) - 1e-9))
    svg('line', {class: 'axis-line', x1: this.plotX0, x2: this.plotX1, y1: LAYOUT.axisH - 1, y2: LAYOUT.axisH - 1}, layer)
    for (let t = Math.ceil(this.view.t0 / step) * step; t <= this.view.t1; t += step) {
      const x = this.x(t)
      svg('line', {class: 'grid', x1: x, x2: x, y1: LAYOUT.axisH - 6, y2: this.model.height - LAYOUT.bottomPad}, layer)
      if (x < this.plotX0 + 14) continue
      const label = svg('text', {class: 'tick', x, y: LAYOUT.axisH - 11}, layer)
      label.textContent = (t / 1000).toFixed(decimals) + ' ms'
    }
  }

  drawGutter(layer) {
    svg('rect', {class: 'gutter', x: 0, y: 0, width: this.plotX0, height: this.model.height}, layer)
    const violation = this.data.violation
    for (const lane of this.model.lanes) {
      const implicated = violation && violation.node !== null && lane.key === 'n' + violation.node
      const label = svg('text', {class: 'lane-label ' + lane.kind + (implicated ? ' implicated' : ''),
        x: this.plotX0 - 12, y: lane.y + lane.height / 2, 'data-ref': 'lane:' + lane.key}, layer)
      label.textContent = lane.label
    }
  }

  drawSpans(layer) {
    for (const [index, span] of this.data.node_spans.entries()) {
      const end = span.end_us === null ? this.data.end_us : span.end_us
      if (!this.inView(span.start_us, end)) continue
      const lane = this.model.laneByKey.get('n' + span.node)
      const x0 = this.x(span.start_us)
      const width = Math.max(this.x(end) - x0, 2)
      svg('rect', {class: 'span ' + span.state, x: x0, y: lane.y + 3, width, height: lane.height - 6,
        rx: 3, 'data-ref': 'span:' + index}, layer)
      this.spanLabel(layer, span.state, x0, width, lane.y + 12)
      this.stats.spans++
    }
    const network = this.model.laneByKey.get('net')
    for (const [index, partition] of this.data.partitions.entries()) {
      const end = partition.end_us === null ? this.data.end_us : partition.end_us
      if (!this.inView(partition.start_us, end)) continue
      const x0 = this.x(partition.start_us)
      const width = Math.max(this.x(end) - x0, 2)
      const cut = new Set()
      for (const [from, to] of partition.links_cut) cut.add(from).add(to)
      for (const node of cut) {
        const lane = this.model.laneByKey.get('n' + node)
        svg('rect', {class: 'cut', x: x0, y: lane.y + 1, width, height: lane.height - 2,
          'data-ref': 'partition:' + index}, layer)
      }
      svg('rect', {class: 'partition', x: x0, y: network.y + 4, width, height: network.height - 8,
        rx: 3, 'data-ref': 'partition:' + index}, layer)
      this.spanLabel(layer, 'partition ' + partition.text, x0, width, network.y + network.height / 2 + 1)
    }
  }

  spanLabel(layer, text, x0, width, y) {
    const visible0 = Math.max(x0, this.plotX0)
    const visible1 = Math.min(x0 + width, this.plotX1)
    const shown = clip(text, visible1 - visible0 - 8, 4)
    if (!shown) return
    const label = svg('text', {class: 'span-label', x: visible0 + 4, y}, layer)
    label.textContent = shown
  }

  passes(message) {
    if (this.hiddenKinds.has(message.kind)) return false
    if (this.slot !== null && message.slot !== this.slot) return false
    if ('node' in message.from && this.hiddenNodes.has(message.from.node)) return false
    if ('node' in message.to && this.hiddenNodes.has(message.to.node)) return false
    return true
  }

  // Where a message's arrow starts and ends, and how it ends.
  geometry(message) {
    const x1 = this.x(message.send_us)
    const y1 = this.laneMid(endpointKey(message.from))
    const yTo = this.laneMid(endpointKey(message.to))
    const stub = (fraction) => ({
      x2: x1 + Math.max(this.x(message.send_us + this.model.stubUs) - x1, STUB_PX_MIN),
      y2: y1 + (yTo - y1) * fraction,
    })
    switch (message.fate) {
      case 'delivered': {
        const arrive = message.arrive_us === null ? message.receive_us : message.arrive_us
        const hold = message.arrive_us === null ? null : [this.x(message.arrive_us), this.x(message.receive_us)]
        return {x1, y1, x2: this.x(arrive), y2: yTo, end: 'head', hold}
      }
      case 'lost-to-crash': {
        // It may have waited in the backlog of a paused node that crashed.
        const arrive = message.arrive_us === null ? message.receive_us : message.arrive_us
        const hold = message.arrive_us === null ? null : [this.x(message.arrive_us), this.x(message.receive_us)]
        return {x1, y1, x2: this.x(arrive), y2: yTo, end: 'cross', hold}
      }
      case 'held':
        return {x1, y1, x2: this.x(message.arrive_us), y2: yTo, end: 'head',
          hold: [this.x(message.arrive_us), this.x(this.data.end_us)]}
      case 'dropped':
        return {x1, y1, ...stub(0.55), end: 'cross', hold: null}
      case 'blocked':
        return {x1, y1, ...stub(0.55), end: 'wall', hold: null}
      default:
        return {x1, y1, x2: this.x(this.data.end_us), y2: y1 + (yTo - y1) * 0.5, end: 'open', hold: null}
    }
  }

  messageEnd(message) {
    if (message.receive_us !== null) return message.receive_us
    if (message.fate === 'in-flight' || message.fate === 'held') return this.data.end_us
    return message.send_us + 2 * this.model.stubUs
  }

  drawMessages(layer) {
    const visible = []
    for (const message of this.data.messages) {
      if (this.passes(message) && this.inView(message.send_us, this.messageEnd(message))) visible.push(message)
    }
    this.visibleMessages = visible.map((message) => ({message, g: this.geometry(message)}))
    const dense = visible.length > DENSE_LIMIT
    this.stats.dense = dense
    const merged = new Map()
    const crosses = []
    const walls = []
    const holds = []
    const implicated = this.data.violation ? this.data.violation.message : null
    for (const {message, g} of this.visibleMessages) {
      const color = this.model.colors.get(message.kind)
      const line = 'M' + g.x1.toFixed(1) + ' ' + g.y1.toFixed(1) + 'L' + g.x2.toFixed(1) + ' ' + g.y2.toFixed(1)
      if (g.end === 'cross') crosses.push(crossPath(g.hold ? {x2: g.hold[1], y2: g.y2} : g))
      if (g.end === 'wall') walls.push(wallPath(g))
      if (g.hold) holds.push('M' + g.hold[0].toFixed(1) + ' ' + g.y2.toFixed(1) + 'H' + g.hold[1].toFixed(1))
      this.stats.arrows++
      if (dense) {
        if (!merged.has(color)) merged.set(color, [])
        merged.get(color).push(line)
        continue
      }
      const classes = ['msg', 'fate-' + message.fate]
      if (message.duplicate) classes.push('dup')
      if (message.id === implicated) classes.push('implicated')
      const group = svg('g', {class: classes.join(' '), style: 'color:' + color, 'data-ref': 'm:' + message.id}, layer)
      svg('path', {class: 'shaft', d: line}, group)
      if (g.end === 'head') svg('path', {class: 'head', d: headPath(g)}, group)
      if (message.duplicate) svg('circle', {class: 'dup-ring', cx: g.x1, cy: g.y1, r: 3}, group)
    }
    for (const [color, lines] of merged) {
      svg('path', {class: 'msg-merged', style: 'color:' + color, d: lines.join('')}, layer)
    }
    if (holds.length) svg('path', {class: 'hold', d: holds.join('')}, layer)
    if (crosses.length) svg('path', {class: 'cross', d: crosses.join('')}, layer)
    if (walls.length) svg('path', {class: 'wall', d: walls.join('')}, layer)
  }

  drawTimers(layer) {
    if (this.hiddenKinds.has('timers')) return
    const visible = []
    for (const [index, timer] of this.data.timers.entries()) {
      if (!this.hiddenNodes.has(timer.node) && this.inView(timer.time_us, timer.time_us)) visible.push([index, timer])
    }
    const dense = visible.length > DENSE_LIMIT
    const merged = []
    for (const [index, timer] of visible) {
      const lane = this.model.laneByKey.get('n' + timer.node)
      const x = this.x(timer.time_us)
      const y = lane.y + 4
      const d = 'M' + x.toFixed(1) + ' ' + (y + 6) + 'l-3.5 -6h7z'
      this.stats.timers++
      if (dense) {
        merged.push(d)
        continue
      }
      svg('path', {class: 'timer t-' + timer.timer, d, 'data-ref': 'timer:' + index}, layer)
    }
    if (merged.length) svg('path', {class: 'timer-merged', d: merged.join('')}, layer)
  }

  drawChosen(layer) {
    const lane = this.model.laneByKey.get('log')
    const mid = lane.y + lane.height / 2
    const violationSlot = this.data.violation ? this.data.violation.slot : null
    const visible = this.data.chosen.filter((chosen) => this.inView(chosen.time_us, chosen.time_us))
    const dense = visible.length > DENSE_LIMIT
    const merged = []
    visible.sort((a, b) => a.time_us - b.time_us)
    for (const [index, chosen] of visible.entries()) {
      const x = this.x(chosen.time_us)
      const d = 'M' + x.toFixed(1) + ' ' + (mid - 5) + 'l5 5l-5 5l-5 -5z'
      this.stats.chosen++
      if (dense) {
        merged.push(d)
        continue
      }
      const classes = ['chosen']
      if (chosen.slot === violationSlot) classes.push('implicated')
      if (this.slot !== null && chosen.slot !== this.slot) classes.push('dimmed')
      const group = svg('g', {class: classes.join(' '), 'data-ref': 'slot:' + chosen.slot}, layer)
      svg('path', {class: 'chosen-mark', d}, group)
      const next = index + 1 < visible.length ? this.x(visible[index + 1].time_us) : this.plotX1
      const shown = clip('s' + chosen.slot + ' ' + chosen.value, next - x - 14, String(chosen.slot).length + 1)
      if (shown) {
        const label = svg('text', {class: 'chosen-label', x: x + 8, y: mid + 1}, group)
        label.textContent = shown
      }
    }
    if (merged.length) svg('path', {class: 'chosen-merged', d: merged.join('')}, layer)
  }

  drawOperations(layer) {
    for (const op of this.data.operations) {
      const end = op.complete_us === null ? this.data.end_us : op.complete_us
      if (!this.inView(op.invoke_us, end)) continue
      const lane = this.model.laneByKey.get('c' + op.client)
      const x0 = this.x(op.invoke_us)
      const width = Math.max(this.x(end) - x0, 3)
      const y = lane.y + 9
      const height = lane.height - 18
      const classes = ['op', op.kind, op.complete_us === null ? 'pending' : 'done']
      if (this.model.implicatedOps.has(op.id)) classes.push('implicated')
      const dimmed = this.onlyKey !== null && op.key !== this.onlyKey
      if (dimmed) classes.push('dimmed')
      const group = svg('g', {class: 'op-group' + (dimmed ? ' dimmed' : ''), 'data-ref': 'op:' + op.id}, layer)
      svg('rect', {class: classes.join(' '), x: x0, y, width, height, rx: 4}, group)
      for (const attempt of op.attempts.slice(1)) {
        const ax = this.x(attempt.send_us)
        svg('line', {class: 'attempt', x1: ax, x2: ax, y1: y, y2: y + height}, group)
      }
      const visible0 = Math.max(x0, this.plotX0)
      const shown = clip(opLabel(op), Math.min(x0 + width, this.plotX1) - visible0 - 10, 6)
      if (shown) {
        const label = svg('text', {class: 'op-label', x: visible0 + 5, y: y + height / 2 + 1}, group)
        label.textContent = shown
      }
      this.stats.bars++
    }
  }

  drawViolationLine(layer) {
    const violation = this.data.violation
    if (!violation || !this.inView(violation.time_us, violation.time_us)) return
    const x = this.x(violation.time_us)
    const group = svg('g', {id: 'violation-marker', class: 'violation', 'data-ref': 'violation'}, layer)
    svg('line', {class: 'violation-line', x1: x, x2: x, y1: 18, y2: this.model.height - LAYOUT.bottomPad}, group)
    const text = '\u2716 ' + violation.invariant
    const width = text.length * CHAR_PX + 12
    const left = Math.max(Math.min(x - width / 2, this.plotX1 - width), this.plotX0)
    svg('rect', {class: 'violation-flag', x: left, y: 15, width, height: 17, rx: 8.5}, group)
    const label = svg('text', {class: 'violation-text', x: left + width / 2, y: 24.5}, group)
    label.textContent = text
  }

  // Where the recording stopped keeping new records: past this line the
  // page shows operations and the violation only.
  drawTruncation(layer) {
    const truncated = this.data.truncated
    if (!truncated || !this.inView(truncated.time_us, truncated.time_us)) return
    const x = this.x(truncated.time_us)
    svg('line', {id: 'truncation-marker', class: 'truncation-line', x1: x, x2: x, y1: LAYOUT.axisH,
      y2: this.model.height - LAYOUT.bottomPad}, layer)
    const label = svg('text', {class: 'truncation-text', x: x + 4, y: LAYOUT.axisH + 8}, layer)
    label.textContent = 'recording truncated'
  }

  drawSelection(layer) {
    const ref = this.selected
    if (!ref) return
    const [kind, id] = splitRef(ref)
    if (kind === 'm') {
      const message = this.model.msgById.get(Number(id))
      if (!message || !this.passes(message)) return
      const g = this.geometry(message)
      svg('path', {class: 'selection', d: 'M' + g.x1 + ' ' + g.y1 + 'L' + g.x2 + ' ' + g.y2}, layer)
      return
    }
    for (const element of this.svg.querySelectorAll('[data-ref="' + CSS.escape(ref) + '"]')) {
      element.classList.add('selected')
    }
  }

  // ---------------------------------------------------------- reporting

  // Counts for people and tests, read from what is on the page.
  report() {
    const report = document.getElementById('report')
    const count = (selector) => String(document.querySelectorAll(selector).length)
    report.setAttribute('data-lanes', count('#timeline rect.lane'))
    report.setAttribute('data-arrows', String(this.stats.arrows))
    report.setAttribute('data-arrow-elements', count('#timeline g.msg'))
    report.setAttribute('data-bars', count('#timeline rect.op'))
    report.setAttribute('data-timers', String(this.stats.timers))
    report.setAttribute('data-chosen', String(this.stats.chosen))
    report.setAttribute('data-spans', count('#timeline rect.span'))
    report.setAttribute('data-partitions', count('#timeline rect.partition'))
    report.setAttribute('data-mode', this.stats.dense ? 'merged' : 'separate')
    report.setAttribute('data-violation', document.getElementById('violation-marker') ? 'shown' : 'none')
    report.setAttribute('data-truncated', this.data.truncated ? 'true' : 'false')
    report.setAttribute('data-implicated', count('#timeline .implicated'))
    report.setAttribute('data-selected', this.selected || '')
    report.setAttribute('data-view-start-us', String(Math.round(this.view.t0)))
    report.setAttribute('data-view-end-us', String(Math.round(this.view.t1)))
  }
}

function splitRef(ref) {
  const colon = ref.indexOf(':')
  return colon < 0 ? [ref, ''] : [ref.slice(0, colon), ref.slice(colon + 1)]
}

function unit(g) {
  const dx = g.x2 - g.x1
  const dy = g.y2 - g.y1
  const length = Math.hypot(dx, dy) || 1
  return [dx / length, dy / length]
}

function headPath(g) {
  const [ux, uy] = unit(g)
  const bx = g.x2 - ux * 7
  const by = g.y2 - uy * 7
  return 'M' + g.x2.toFixed(1) + ' ' + g.y2.toFixed(1) + 'L' + (bx - uy * 3.5).toFixed(1) + ' ' +
    (by + ux * 3.5).toFixed(1) + 'L' + (bx + uy * 3.5).toFixed(1) + ' ' + (by - ux * 3.5).toFixed(1) + 'Z'
}

function crossPath(g) {
  const x = g.x2.toFixed(1)
  const y = g.y2.toFixed(1)
  return 'M' + x + ' ' + y + 'm-4 -4l8 8m0 -8l-8 8'
}

function wallPath(g) {
  const [ux, uy] = unit(g)
  return 'M' + (g.x2 - uy * 7).toFixed(1) + ' ' + (g.y2 + ux * 7).toFixed(1) + 'L' +
    (g.x2 + uy * 7).toFixed(1) + ' ' + (g.y2 - ux * 7).toFixed(1)
}
