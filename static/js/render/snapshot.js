// "Download PNG": redraw what the page shows (canvases, text, bars and highlight boxes) onto one
// canvas, and "Download JSON" / PNG file saving through a blob URL.

const GAP = 16;

function extent(root) {
  return { width: Math.ceil(root.scrollWidth), height: Math.ceil(root.scrollHeight) };
}

function drawText(g, node, dx, dy) {
  const text = node.textContent;
  if (!text.trim()) return;
  const style = getComputedStyle(node.parentElement);
  if (style.visibility === 'hidden') return;
  g.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
  g.fillStyle = style.color;
  g.textBaseline = 'top';
  // Word by word, each at its own box, so that text wrapped over several lines stays wrapped.
  const range = document.createRange();
  for (const word of text.matchAll(/\S+/g)) {
    range.setStart(node, word.index);
    range.setEnd(node, word.index + word[0].length);
    const rect = range.getBoundingClientRect();
    if (rect.width) g.fillText(word[0], rect.left + dx, rect.top + dy);
  }
}

/** Paint `root` and its descendants at (x, y) of the 2-D context g, scroll extent included. */
function paint(g, root, x, y) {
  const rootRect = root.getBoundingClientRect();
  const dx = x - rootRect.left + root.scrollLeft;
  const dy = y - rootRect.top + root.scrollTop;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
  for (let node = walker.currentNode; node; node = walker.nextNode()) {
    if (node.nodeType === Node.TEXT_NODE) {
      drawText(g, node, dx, dy);
      continue;
    }
    if (node.hidden || node.tagName === 'OPTION' || node.tagName === 'SELECT') continue;
    const rect = node.getBoundingClientRect();
    if (!rect.width || !rect.height) continue;
    const style = getComputedStyle(node);
    if (node.tagName === 'CANVAS' || node.tagName === 'IMG') {
      if (node.tagName === 'IMG' && !node.complete) continue;
      g.drawImage(node, rect.left + dx, rect.top + dy, rect.width, rect.height);
    } else if (style.backgroundColor && style.backgroundColor !== 'rgba(0, 0, 0, 0)' && node !== root) {
      g.fillStyle = style.backgroundColor;
      g.fillRect(rect.left + dx, rect.top + dy, rect.width, rect.height);
    }
    if (style.borderTopStyle !== 'none' && parseFloat(style.borderTopWidth) >= 2) {
      g.strokeStyle = style.borderTopColor;
      g.lineWidth = parseFloat(style.borderTopWidth);
      g.strokeRect(rect.left + dx, rect.top + dy, rect.width, rect.height);
    }
  }
}

/**
 * Compose rows of elements into one canvas: each row's elements side by side, rows stacked,
 * every element at its full scroll extent on a white background.
 */
export function composeCanvas(rows) {
  const laidOut = rows
    .map((row) => row.filter((el) => el && !el.hidden && el.getClientRects().length))
    .filter((row) => row.length);
  const sizes = laidOut.map((row) => row.map(extent));
  const width = Math.max(1, ...sizes.map((row) => row.reduce((s, e) => s + e.width, 0) + GAP * (row.length + 1)));
  const height = sizes.reduce((s, row) => s + Math.max(...row.map((e) => e.height)) + GAP, GAP);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const g = canvas.getContext('2d');
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, width, height);
  g.imageSmoothingEnabled = false;
  let y = GAP;
  laidOut.forEach((row, r) => {
    let x = GAP;
    row.forEach((el, i) => {
      paint(g, el, x, y);
      x += sizes[r][i].width + GAP;
    });
    y += Math.max(...sizes[r].map((e) => e.height)) + GAP;
  });
  return canvas;
}

/** Save a Blob as a file named `filename` (through a temporary blob: URL). */
export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A canvas -> PNG Blob. */
export function canvasToPng(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('PNG encoding failed'))), 'image/png');
  });
}
