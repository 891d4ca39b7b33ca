/** What a pipeline stage that lives in its own module (alignment, GRPO) gets from the pipeline. */
export interface StageContext {
  /** the pipeline's output folder; the stage writes under OUT/<its name> */
  out: string;
  /** OUT/data: the world data written by the data stage (stages may add their own files) */
  dataDir: string;
  /** the SFT model folder the stage starts from */
  sftDir: string;
  seed: number;
  /** a smoke run: every size tiny */
  quick: boolean;
  quiet: boolean;
  log: (s: string) => void;
}
