// The built-in transform component (component 0, "eustress.transform") as the C++ side quantizes it
// (src/wire/quantize.cpp, src/replication/component_registry.cpp): each axis on a float grid, the rotation as its
// smallest three components. Dequantizing repeats the C++ arithmetic step by step (doubles where C++ uses double,
// Math.fround after every float operation), so the browser's world is the native client's, bit for bit.
import type { ComponentReader, QuantizedField } from "./snapshot.js";

const f32 = Math.fround;

export interface FloatRange {
  min: number;
  max: number;
  resolution: number;
}

export interface TransformQuantization {
  x: FloatRange;
  y: FloatRange;
  z: FloatRange;
  rotationBits: number;
}

/// TransformQuantization's defaults in world.hpp: ±1 km at 1 mm, 12 bits per rotation component.
export const DEFAULT_TRANSFORM: TransformQuantization = {
  x: { min: -1024, max: 1024, resolution: f32(0.001) },
  y: { min: -1024, max: 1024, resolution: f32(0.001) },
  z: { min: -1024, max: 1024, resolution: f32(0.001) },
  rotationBits: 12,
};

export interface Transform {
  position: [number, number, number];
  rotation: [number, number, number, number]; // w, x, y, z
}

function floatBits(value: number): number {
  return new Uint32Array(Float32Array.of(value).buffer)[0]!;
}

/// nextafter(value, 0) for a positive float.
function floatBelow(value: number): number {
  return new Float32Array(Uint32Array.of(floatBits(value) - 1).buffer)[0]!;
}

function isPowerOfTwo(value: number): boolean {
  return value > 0 && 2 ** Math.round(Math.log2(value)) === value;
}

/// grid_step in quantize.cpp: the resolution, less the float spacing at the range's ends unless the grid is exact.
function gridStep(range: FloatRange): number {
  const magnitude = Math.max(Math.abs(range.min), Math.abs(range.max));
  const spacing = magnitude > 0 ? magnitude - floatBelow(magnitude) : 0;
  const exact =
    isPowerOfTwo(range.resolution) &&
    spacing <= range.resolution &&
    range.min % range.resolution === 0 &&
    range.max % range.resolution === 0;
  return exact || spacing >= range.resolution ? range.resolution : range.resolution - spacing;
}

/// FloatQuantization::steps: the largest quantized value (0 for an invalid range).
export function gridSteps(range: FloatRange): number {
  const finite = Number.isFinite(range.min) && Number.isFinite(range.max);
  if (!finite || !(range.min < range.max) || !(range.resolution > 0)) return 0;
  const steps = (range.max - range.min) / gridStep(range);
  return steps < 4294967295 ? Math.ceil(steps) : 0;
}

export function bitsRequired(maxValue: number): number {
  return maxValue === 0 ? 1 : Math.floor(Math.log2(maxValue)) + 1;
}

/// FloatQuantization::dequantize, with the range's steps computed once.
export function floatDequantizer(range: FloatRange): (quantized: number) => number {
  const steps = gridSteps(range);
  const span = range.max - range.min;
  return (quantized) => (steps === 0 ? range.min : f32(range.min + (Math.min(quantized, steps) / steps) * span));
}

const SMALLEST_THREE_BOUND = f32(0.70710678118);

function dequantizeUnit(quantized: number, bits: number): number {
  const maxValue = f32(2 ** bits - 1);
  const clamped = Math.min(quantized, maxValue);
  return f32(f32(f32(clamped / maxValue) * f32(2 * SMALLEST_THREE_BOUND)) - SMALLEST_THREE_BOUND);
}

/// dequantize_quaternion: `largest` names the dropped component (0..3: w, x, y, z); always a unit quaternion.
export function dequantizeRotation(
  largest: number,
  components: readonly number[],
  bits: number,
): [number, number, number, number] {
  const parts = [0, 0, 0, 0];
  let sumOfSquares = 0;
  let slot = 0;
  for (let i = 0; i < 4; ++i) {
    if (i === (largest & 3)) continue;
    parts[i] = dequantizeUnit(components[slot++]!, bits);
    sumOfSquares = f32(sumOfSquares + f32(parts[i]! * parts[i]!));
  }
  parts[largest & 3] = f32(Math.sqrt(Math.max(0, f32(1 - sumOfSquares))));
  let lengthSquared = 0;
  for (const part of parts) lengthSquared = f32(lengthSquared + f32(part * part));
  const length = f32(Math.sqrt(lengthSquared));
  return parts.map((part) => f32(part / length)) as [number, number, number, number];
}

/// The transform's fields: three grid positions, then the dropped component's index and three components.
export function transformReader(quantization: TransformQuantization): ComponentReader {
  const axes = [quantization.x, quantization.y, quantization.z].map((range) => gridSteps(range));
  const rotationBits = quantization.rotationBits;
  return (source) => {
    for (const steps of axes) {
      const value = source.take(bitsRequired(steps));
      if (value === null || steps === 0 || value > steps) return false;
    }
    if (rotationBits < 2 || rotationBits > 16 || source.take(2) === null) return false;
    for (let i = 0; i < 3; ++i) if (source.take(rotationBits) === null) return false;
    return true;
  };
}

/// The transform's fields to a pose; the grids are computed once, here.
export function transformDequantizer(
  quantization: TransformQuantization,
): (fields: readonly QuantizedField[]) => Transform {
  const [x, y, z] = [quantization.x, quantization.y, quantization.z].map(floatDequantizer) as [
    (quantized: number) => number,
    (quantized: number) => number,
    (quantized: number) => number,
  ];
  return (fields) => {
    const value = (index: number) => fields[index]?.value ?? 0;
    return {
      position: [x(value(0)), y(value(1)), z(value(2))],
      rotation: dequantizeRotation(value(3), [value(4), value(5), value(6)], quantization.rotationBits),
    };
  };
}

/// ComponentRegistry::fingerprint: FNV-1a over the names (each ended by a zero byte) and the transform's
/// quantization (floats and the rotation bits as little-endian bytes, as x86 lays them out).
export function registryFingerprint(names: readonly string[], quantization: TransformQuantization): bigint {
  let hash = 0xcbf29ce484222325n;
  const mix = (bytes: Iterable<number>) => {
    for (const byte of bytes) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & 0xffffffffffffffffn;
  };
  for (const name of names) mix([...new TextEncoder().encode(name), 0]);
  for (const range of [quantization.x, quantization.y, quantization.z])
    for (const value of [range.min, range.max, range.resolution]) mix(new Uint8Array(Float32Array.of(value).buffer));
  mix(new Uint8Array(Uint32Array.of(quantization.rotationBits).buffer));
  return hash;
}
