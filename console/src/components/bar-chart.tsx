export interface ChartSeries {
  name: string;
  values: number[];
}

export interface BarChartProps {
  title: string;
  categories: string[];
  series: ChartSeries[];
  format(value: number): string;
}

const width = 640;
const height = 220;
const margin = { top: 12, right: 8, bottom: 28, left: 56 };
const plotWidth = width - margin.left - margin.right;
const plotHeight = height - margin.top - margin.bottom;

/** The smallest 1/2/5 × 10ⁿ at or above `value`, so the axis top reads well. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

/**
 * A stacked bar chart in plain SVG (no chart library: a few hundred bytes beat any of them here).
 * The SVG is one labelled image; the numbers behind it are in a data table for screen readers and
 * keyboards.
 */
export function BarChart({ title, categories, series, format }: BarChartProps) {
  const totals = categories.map((_, index) =>
    series.reduce((sum, item) => sum + (item.values[index] ?? 0), 0),
  );
  const top = niceCeiling(Math.max(0, ...totals));
  const slot = categories.length === 0 ? plotWidth : plotWidth / categories.length;
  const barWidth = Math.max(1, Math.min(48, slot * 0.7));
  const labelEvery = Math.max(1, Math.ceil(categories.length / 8));
  const grandTotal = totals.reduce((sum, value) => sum + value, 0);
  const summary = `${title}: ${categories.length} bars, total ${format(grandTotal)}, highest ${format(Math.max(0, ...totals))}.`;

  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={summary}>
        <g class="chart-axis">
          <line x1={margin.left} x2={width - margin.right} y1={margin.top} y2={margin.top} />
          <line
            x1={margin.left}
            x2={width - margin.right}
            y1={margin.top + plotHeight}
            y2={margin.top + plotHeight}
          />
          <text x={margin.left - 6} y={margin.top + 4} text-anchor="end">
            {format(top)}
          </text>
          <text x={margin.left - 6} y={margin.top + plotHeight} text-anchor="end">
            0
          </text>
        </g>
        {categories.map((category, index) => {
          const x = margin.left + index * slot + (slot - barWidth) / 2;
          let stacked = 0;
          return (
            <g key={category}>
              {series.map((item, seriesIndex) => {
                const value = item.values[index] ?? 0;
                const barHeight = (value / top) * plotHeight;
                const y = margin.top + plotHeight - ((stacked + value) / top) * plotHeight;
                stacked += value;
                if (value <= 0) return null;
                return (
                  <rect
                    key={item.name}
                    class={`series-${seriesIndex % 6}`}
                    x={x}
                    y={y}
                    width={barWidth}
                    height={Math.max(0.5, barHeight)}
                  >
                    <title>{`${category} · ${item.name}: ${format(value)}`}</title>
                  </rect>
                );
              })}
              {index % labelEvery === 0 ? (
                <text class="chart-label" x={x + barWidth / 2} y={height - 8} text-anchor="middle">
                  {category}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
      {series.length > 1 ? (
        <ul class="legend" aria-label={`${title} legend`}>
          {series.map((item, index) => (
            <li key={item.name}>
              <svg viewBox="0 0 10 10" class="legend-swatch" aria-hidden="true">
                <rect class={`series-${index % 6}`} width="10" height="10" />
              </svg>
              {item.name}
            </li>
          ))}
        </ul>
      ) : null}
      <details class="chart-data">
        <summary>Data: {title}</summary>
        <div class="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Period</th>
                {series.map((item) => (
                  <th scope="col" key={item.name}>
                    {item.name}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {categories.map((category, index) => (
                <tr key={category}>
                  <th scope="row">{category}</th>
                  {series.map((item) => (
                    <td key={item.name}>{format(item.values[index] ?? 0)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
