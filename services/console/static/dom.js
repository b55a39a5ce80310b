// Building the page from data without ever parsing it as HTML: every text goes in as a text node.

const HTML_SINKS = new Set(["innerHTML", "outerHTML", "srcdoc"]);

/**
 * An element: `el("li", {class: "x", data: {incidentId: "inc-1"}, attrs: {"aria-label": "…"},
 * on: {click: fn}}, "text", child, null…)`. Strings become text nodes; null and false are skipped.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (HTML_SINKS.has(name)) throw new Error(`el() sets no ${name}: data is text, never HTML`);
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "data") Object.assign(node.dataset, value);
    else if (name === "key") node.dataset.key = value; // to find it again after a re-render
    else if (name === "attrs") {
      for (const [attr, v] of Object.entries(value)) if (v !== null && v !== undefined) node.setAttribute(attr, v);
    } else if (name === "on") {
      for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    } else node[name] = value;
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what `node` holds with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** The element of `selector`, which the page must have. */
export function $(selector, root = document) {
  const found = root.querySelector(selector);
  if (!found) throw new Error(`missing ${selector}`);
  return found;
}
