import { addMonths, PERIOD_PATTERN } from '../src-shared/period.ts';

/** Chooses the month every figure on the page is for. */
export function MonthPicker({ month, onChange }: { month: string; onChange: (month: string) => void }) {
  return (
    <div className="month-picker">
      <button type="button" onClick={() => onChange(addMonths(month, -1))} aria-label="Previous month">
        ‹
      </button>
      <label>
        Month{' '}
        <input
          type="month"
          value={month}
          onChange={(event) => {
            if (PERIOD_PATTERN.test(event.target.value)) onChange(event.target.value);
          }}
        />
      </label>
      <button type="button" onClick={() => onChange(addMonths(month, 1))} aria-label="Next month">
        ›
      </button>
    </div>
  );
}
