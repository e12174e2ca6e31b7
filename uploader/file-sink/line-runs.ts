/**
 * The lines of one file in one write, gathered as runs of adjacent bytes. The transcoder writes consecutive lines
 * next to each other in one block, so most lines extend the run before them: the write then takes a view of each
 * run instead of copying every line into a new buffer.
 */
export class LineRuns {
  private readonly runs: Uint8Array[] = [];
  private buffer: ArrayBufferLike | null = null;
  private runStart = 0;
  private runEnd = 0;

  append(line: Uint8Array): void {
    if (line.buffer === this.buffer && line.byteOffset === this.runEnd) {
      this.runEnd += line.byteLength;
      return;
    }
    this.closeRun();
    this.buffer = line.buffer;
    this.runStart = line.byteOffset;
    this.runEnd = line.byteOffset + line.byteLength;
  }

  /** Every line appended, in order, as one buffer: a view when they were all adjacent. */
  bytes(): Buffer {
    this.closeRun();
    this.buffer = null;
    const only = this.runs.length === 1 ? this.runs[0]! : null;
    return only ? Buffer.from(only.buffer, only.byteOffset, only.byteLength) : Buffer.concat(this.runs);
  }

  private closeRun(): void {
    if (this.buffer !== null) this.runs.push(new Uint8Array(this.buffer, this.runStart, this.runEnd - this.runStart));
  }
}
