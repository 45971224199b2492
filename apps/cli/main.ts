import { isUserError, RunFailure } from '../../framework/errors.ts';
import { WorkerFault } from '../../framework/runtime/faults.ts';
import { StopSignals } from './signals.ts';
import { print, watchStdout } from './stdout.ts';

const HELP = `admove — adaptive data movement for data-parallel programs

Usage: admove <command> [flags]

Commands
  opt       train Opt (a neural net by conjugate gradient) on adaptive workers
  predict   classify a CSV file with a model saved by admove opt --save-model
  plot      SVG charts of a run report written by admove opt --report
  agent     host worker threads for jobs run from other machines (admove opt --hosts)
  scheduler send scheduler events to a running job (admove opt --control)
  slurm     run opt as the tasks of a Slurm step: srun admove slurm opt [flags]

Run admove <command> --help for its flags; admove --version prints the version (coordinator
and agents must run the same one).
`;

async function main(argv: readonly string[], signals: StopSignals): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'opt':
      return (await import('./opt-command.ts')).optCommand(rest, signals);
    case 'predict':
      return (await import('./predict-command.ts')).predictCommand(rest);
    case 'plot':
      return (await import('../plot/plot-command.ts')).plotCommand(rest);
    case 'agent':
      return (await import('./agent-command.ts')).agentCommand(rest, signals);
    case 'scheduler':
      return (await import('./scheduler-command.ts')).schedulerCommand(rest, signals);
    case 'slurm':
      return (await import('./slurm-command.ts')).slurmCommand(rest, signals);
    case 'version':
    case '--version':
    case '-V': {
      const { ADMOVE_VERSION } = await import('../../framework/util/version.ts');
      print(`admove ${ADMOVE_VERSION}\n`);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      print(HELP);
      return 0;
    default:
      process.stderr.write(
        `admove: unknown command "${command}"; commands are opt, predict, plot, agent, scheduler and slurm (admove --help)\n`,
      );
      return 2;
  }
}

/** The CLI: runs one command and sets the exit code (2 for a user error, with one line). */
export async function run(argv: readonly string[]): Promise<void> {
  // `admove … | head` closes stdout early: printing stops, the run and its outputs go on.
  watchStdout();
  const signals = new StopSignals();
  try {
    process.exitCode = await main(argv, signals);
  } catch (error) {
    if (isUserError(error)) {
      process.stderr.write(`admove: ${error.message}\n`);
      process.exitCode = 2;
    } else if (error instanceof RunFailure) {
      // The run could not go on (every host gone, every worker failed, …): one line, exit 1.
      process.stderr.write(`admove: ${error.message}\n`);
      process.exitCode = 1;
    } else if (error instanceof WorkerFault) {
      // A worker failed where the run cannot recover (e.g. before any data was placed):
      // an operational failure, not a bug — one line, no stack, exit 1.
      process.stderr.write(`admove: ${error.message.replace(/\s+/g, ' ')}; the run stopped\n`);
      process.exitCode = 1;
    } else {
      throw error;
    }
  } finally {
    signals.dispose();
  }
}
