import { createContext, useContext } from 'react';
import type { TerminalController } from '../live/controller';

export const ControllerContext = createContext<TerminalController | null>(null);

export function useController(): TerminalController {
  const c = useContext(ControllerContext);
  if (!c) throw new Error('no terminal controller');
  return c;
}
