// Generated artwork for posts: no images exist (and none are fetched), so each post gets an SVG
// derived from its id (shapes, angles) and its topic (palette, glyph). Same post, same picture.
import { hashString, rng } from "./ui.js";

const TOPIC_HUE = {
  cooking: 24, fitness: 150, travel: 195, football: 118, basketball: 14, gaming: 268, music: 322, dance: 296,
  comedy: 48, fashion: 340, beauty: 350, pets: 36, diy: 30, tech: 210, science: 180, cars: 0, art: 280,
  books: 38, gardening: 100, finance: 160,
};

// Big, simple, stroked glyphs per topic (drawn in a 100x100 box, centred by the caller).
const GLYPH = {
  cooking: '<circle cx="44" cy="54" r="22"/><path d="M66 54h26M44 30c-4-6 4-10 0-16M54 30c-4-6 4-10 0-16"/>',
  fitness: '<path d="M22 50h56M14 38v24M22 32v36M78 32v36M86 38v24"/>',
  travel: '<path d="M50 12l8 30 30 14-30 4-8 28-8-28-30-4 30-14z"/>',
  football: '<circle cx="50" cy="50" r="34"/><path d="M50 34l14 10-5 17H41l-5-17zM50 16v18M64 44l18-6M59 61l11 17M41 61L30 78M36 44l-18-6"/>',
  basketball: '<circle cx="50" cy="50" r="34"/><path d="M16 50h68M50 16v68M26 26c14 14 14 34 0 48M74 26c-14 14-14 34 0 48"/>',
  gaming: '<rect x="14" y="32" width="72" height="38" rx="19"/><path d="M32 44v14M25 51h14"/><circle cx="64" cy="47" r="3"/><circle cx="72" cy="55" r="3"/>',
  music: '<path d="M38 72V22l36-8v48"/><circle cx="30" cy="72" r="9"/><circle cx="66" cy="62" r="9"/>',
  dance: '<circle cx="52" cy="18" r="7"/><path d="M52 26l-4 26 14 14 4 22M48 52L34 68l-10 4M50 34l-18-8M50 34l20-10"/>',
  comedy: '<circle cx="50" cy="50" r="34"/><path d="M34 42v2M66 42v2M32 58c8 12 28 12 36 0"/>',
  fashion: '<path d="M36 14l14 10 14-10 20 14-10 14-6-4v48H32V38l-6 4-10-14z"/>',
  beauty: '<path d="M40 86V46h20v40zM44 46V28l12-12v30"/>',
  pets: '<circle cx="30" cy="40" r="7"/><circle cx="44" cy="28" r="7"/><circle cx="58" cy="28" r="7"/><circle cx="72" cy="40" r="7"/><path d="M50 48c-14 0-22 18-16 26 6 6 26 6 32 0 6-8-2-26-16-26z"/>',
  diy: '<path d="M62 14a14 14 0 0 0-14 18L16 64l10 10 32-32a14 14 0 0 0 18-14l-8 8-8-2-2-8z"/>',
  tech: '<rect x="22" y="22" width="56" height="56" rx="8"/><rect x="36" y="36" width="28" height="28" rx="3"/><path d="M36 10v12M50 10v12M64 10v12M36 78v12M50 78v12M64 78v12M10 36h12M10 50h12M10 64h12M78 36h12M78 50h12M78 64h12"/>',
  science: '<ellipse cx="50" cy="50" rx="38" ry="14"/><ellipse cx="50" cy="50" rx="38" ry="14" transform="rotate(60 50 50)"/><ellipse cx="50" cy="50" rx="38" ry="14" transform="rotate(120 50 50)"/><circle cx="50" cy="50" r="4"/>',
  cars: '<path d="M14 62V50l10-16h52l10 16v12zM14 62h72"/><circle cx="30" cy="64" r="8"/><circle cx="70" cy="64" r="8"/>',
  art: '<path d="M50 14c-20 0-36 14-36 32 0 14 12 14 18 12s10 4 8 10c-2 8 4 14 12 14 20 0 34-16 34-36S70 14 50 14z"/><circle cx="36" cy="36" r="4"/><circle cx="54" cy="28" r="4"/><circle cx="68" cy="42" r="4"/>',
  books: '<path d="M50 26c-10-8-24-8-36-4v56c12-4 26-4 36 4 10-8 24-8 36-4V22c-12-4-26-4-36 4zM50 26v56"/>',
  gardening: '<path d="M50 88V40M50 56c-18 0-28-10-28-28 18 0 28 10 28 28zM50 48c0-16 10-26 28-26 0 16-10 26-28 26z"/>',
  finance: '<path d="M14 80h72M22 70V52M38 70V40M54 70V46M70 70V24M18 40l20-14 16 8 24-20"/>',
};

export function topicHue(topic) {
  if (topic in TOPIC_HUE) return TOPIC_HUE[topic];
  return hashString(topic || "post") % 360;
}

/** An <svg> string: gradient background, soft blobs, rings and the topic's glyph. */
export function artSvg(postId, topic) {
  const r = rng(postId);
  const hue = topicHue(topic);
  const h2 = (hue + 30 + Math.floor(r() * 60)) % 360;
  const h3 = (hue + 180 + Math.floor(r() * 40) - 20) % 360;
  const angle = Math.floor(r() * 360);
  const id = `g${hashString(postId).toString(36)}`;
  let blobs = "";
  for (let i = 0; i < 5; i++) {
    const cx = (r() * 100).toFixed(1), cy = (r() * 180).toFixed(1), rad = (18 + r() * 42).toFixed(1);
    const hh = [hue, h2, h3][i % 3];
    blobs += `<circle cx="${cx}" cy="${cy}" r="${rad}" fill="hsl(${hh} 85% ${55 + Math.floor(r() * 15)}%)" opacity="${(0.22 + r() * 0.3).toFixed(2)}"/>`;
  }
  let rings = "";
  const rx = (15 + r() * 70).toFixed(1), ry = (20 + r() * 140).toFixed(1);
  for (let i = 1; i <= 4; i++) {
    rings += `<circle cx="${rx}" cy="${ry}" r="${i * 13}" fill="none" stroke="white" stroke-opacity="${(0.16 - i * 0.03).toFixed(2)}" stroke-width="0.8"/>`;
  }
  const glyph = GLYPH[topic];
  const gx = (20 + r() * 10).toFixed(1), gy = (50 + r() * 20).toFixed(1), rot = Math.floor(r() * 30 - 15);
  const glyphSvg = glyph
    ? `<g transform="translate(${gx} ${gy}) rotate(${rot} 30 30) scale(0.6)" fill="none" stroke="white" stroke-opacity="0.9" stroke-width="4" stroke-linecap="round" stroke-linejoin="round">${glyph}</g>`
    : `<text x="50" y="100" text-anchor="middle" font-size="56" font-weight="800" fill="white" fill-opacity="0.85" font-family="system-ui, sans-serif">${(topic || "#")[0].toUpperCase()}</text>`;
  return `<svg viewBox="0 0 100 178" preserveAspectRatio="xMidYMid slice" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false">
<defs><linearGradient id="${id}" gradientTransform="rotate(${angle} .5 .5)">
<stop offset="0" stop-color="hsl(${hue} 78% 46%)"/><stop offset=".55" stop-color="hsl(${h2} 70% 32%)"/><stop offset="1" stop-color="hsl(${h3} 60% 18%)"/>
</linearGradient><filter id="${id}b"><feGaussianBlur stdDeviation="6"/></filter></defs>
<rect width="100" height="178" fill="url(#${id})"/><g filter="url(#${id}b)">${blobs}</g>${rings}${glyphSvg}</svg>`;
}
