/** The job's pre-shared key as Slurm tasks get it: `ADMOVE_SECRET`, set in the batch script. */
import { UserError } from '../../framework/errors.ts';

/**
 * ADMOVE_SECRET (trimmed), taken out of this process's environment once read so no later
 * child inherits it unasked; undefined when unset. Shorter than 16 bytes is refused, as a
 * secret file would be.
 */
export function takeSecretFromEnvironment(): Buffer | undefined {
  const text = process.env.ADMOVE_SECRET;
  delete process.env.ADMOVE_SECRET;
  if (text === undefined || text === '') return undefined;
  const secret = Buffer.from(text.trim(), 'utf8');
  if (secret.length < 16) {
    throw new UserError(
      'ADMOVE_SECRET is shorter than 16 bytes: make it with e.g. export ADMOVE_SECRET=$(openssl rand -hex 32)',
    );
  }
  return secret;
}
