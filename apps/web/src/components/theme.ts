import { useCallback, useState } from 'react';

type Theme = 'light' | 'dark';
const KEY = 'hearth.theme';

/** The theme index.html applied before first paint; toggling remembers the choice. */
export function useTheme(): [Theme, () => void] {
  const [theme, setTheme] = useState<Theme>(() =>
    document.documentElement.classList.contains('dark') ? 'dark' : 'light',
  );
  const toggle = useCallback(() => {
    const next = theme === 'dark' ? 'light' : 'dark';
    document.documentElement.classList.toggle('dark', next === 'dark');
    localStorage.setItem(KEY, next);
    setTheme(next);
  }, [theme]);
  return [theme, toggle];
}
