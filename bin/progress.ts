/**
 * A progress bar on stderr for long work (deploy, imports). On a terminal it redraws one line;
 * elsewhere (CI logs) it prints a line every 10% so logs stay short.
 */
export interface Progress {
  tick(label?: string): void;
  done(): void;
}

export function progressBar(total: number, what: string, stream = process.stderr): Progress {
  let count = 0;
  let lastDecile = -1;
  const width = 30;
  const draw = (label: string) => {
    const ratio = total === 0 ? 1 : count / total;
    if (stream.isTTY) {
      const filled = Math.round(ratio * width);
      stream.write(
        `\r${what} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${count}/${total} ${label}`
          .slice(0, (stream.columns || 100) - 1)
          .padEnd(Math.min(stream.columns || 100, 100) - 1),
      );
    } else if (Math.floor(ratio * 10) > lastDecile) {
      lastDecile = Math.floor(ratio * 10);
      stream.write(`${what}: ${count}/${total} (${Math.round(ratio * 100)}%)\n`);
    }
  };
  return {
    tick(label = '') {
      count++;
      draw(label);
    },
    done() {
      if (stream.isTTY) stream.write('\n');
    },
  };
}
