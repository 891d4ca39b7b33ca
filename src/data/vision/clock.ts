/**
 * Reading an analogue clock: a ring with 12 hour ticks (longer at 12, 3, 6 and 9), a short thick
 * hour hand that moves with the minutes, and a long thin minute hand. The answer is "H:MM" with
 * H in 1..12. Knobs by level: whole hours; quarter hours; any 5 minutes, with no 12/3/6/9 emphasis
 * and a smaller, off-centre face. Levels 1-2 jitter the face a little, so every time has many scenes
 * and the hash split holds out scenes of every time, not whole times.
 */
import type { Family } from './family.js';
import { drawTextCentered } from './font.js';
import { COLORS, type ColorName, INK } from './palette.js';
import type { Point } from './raster.js';

export interface ClockScene {
  size: number;
  hour: number;
  minute: number;
  cx: number;
  cy: number;
  radius: number;
  /** colour of the minute hand (null: black) */
  minuteColor: ColorName | null;
  /** level 1-2 draw the numeral 12 at the top */
  numeral12: boolean;
  majorTicks: boolean;
}

const MINUTES: Record<number, readonly number[]> = {
  1: [0],
  2: [0, 15, 30, 45],
  3: Array.from({ length: 12 }, (_, i) => i * 5),
};

/** The time as the answer writes it: "3:05". */
export function clockTime(hour: number, minute: number): string {
  return `${hour}:${String(minute).padStart(2, '0')}`;
}

/** Angles of the hands in degrees clockwise from 12. */
export function handAngles(hour: number, minute: number): { hour: number; minute: number } {
  return { hour: ((hour % 12) + minute / 60) * 30, minute: minute * 6 };
}

function polar(cx: number, cy: number, deg: number, len: number): Point {
  const a = (deg * Math.PI) / 180;
  return { x: cx + Math.sin(a) * len, y: cy - Math.cos(a) * len };
}

export const clockFamily: Family<ClockScene> = {
  maxLevel: 3,
  sample(rng, level, size) {
    const hour = rng.int(1, 12), minute = rng.pick(MINUTES[level]);
    // levels 1-2: a large face, a little jitter; level 3: smaller and anywhere in the image
    const radius = Math.round((size * (level === 3 ? rng.int(32, 40) : rng.int(41, 45))) / 100);
    const slack = Math.max(0, Math.floor(size / 2 - radius - 3));
    const jitter = level === 3 ? slack : Math.min(2, slack);
    const cx = Math.round(size / 2) + rng.int(-jitter, jitter), cy = Math.round(size / 2) + rng.int(-jitter, jitter);
    const minuteColor = level >= 2 && rng.chance(0.5) ? rng.pick(['red', 'blue'] as const) : null;
    return { size, hour, minute, cx, cy, radius, minuteColor, numeral12: level < 3, majorTicks: level < 3 };
  },
  render(scene, canvas, opts) {
    const { cx, cy, radius: R } = scene;
    canvas.ring(cx, cy, R, 2, INK, opts);
    for (let h = 0; h < 12; h++) {
      const major = scene.majorTicks && h % 3 === 0;
      const inner = R - (major ? R * 0.2 : R * 0.1);
      canvas.line(polar(cx, cy, h * 30, inner), polar(cx, cy, h * 30, R - 1), major ? 3 : 2, INK, opts);
    }
    if (scene.numeral12) drawTextCentered(canvas, '12', cx, cy - R * 0.62, 1, INK);
    const a = handAngles(scene.hour, scene.minute);
    canvas.line({ x: cx, y: cy }, polar(cx, cy, a.hour, R * 0.5), 4, INK, opts);
    canvas.line({ x: cx, y: cy }, polar(cx, cy, a.minute, R * 0.85), 2, scene.minuteColor === null ? INK : COLORS[scene.minuteColor], opts);
    canvas.circle(cx, cy, 2.5, INK, opts);
  },
  describe(scene) {
    const { hour: h, minute: m } = scene;
    const time = clockTime(h, m);
    const minuteMark = m === 0 ? 12 : m / 5;
    const hourPart = m === 0 ? `points at ${h}` : `is between ${h} and ${(h % 12) + 1}, ${m < 30 ? 'closer to' : m === 30 ? 'halfway past' : 'past halfway from'} ${h}`;
    return {
      question: 'What time does the clock show?',
      answer: time,
      verifier: 'clock',
      reasoning: `The long minute hand points at ${minuteMark}, which is ${m} minutes. The short hour hand ${hourPart}, so the hour is ${h}. The time is ${time}.`,
      caption: `An analogue clock showing ${time}.`,
    };
  },
  key(scene) {
    return `clock|${JSON.stringify(scene)}`;
  },
};
