// Writes a config file and probe files into a fresh temporary directory.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface ConfigDir {
  dir: string;
  configFile: string;
  probesDir: string;
  write(relative: string, text: string): void;
}

export function configDir(config = 'probesDir: probes\n', probes: Record<string, string> = {}): ConfigDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'flowprobe-config-'));
  const probesDir = path.join(dir, 'probes');
  mkdirSync(probesDir);
  const write = (relative: string, text: string) => writeFileSync(path.join(dir, relative), text);
  write('flowprobe.yaml', config);
  for (const [name, text] of Object.entries(probes)) write(path.join('probes', name), text);
  return { dir, configFile: path.join(dir, 'flowprobe.yaml'), probesDir, write };
}
