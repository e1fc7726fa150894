export function TagList({ tags }: { tags: readonly string[] }) {
  if (tags.length === 0) return <span class="muted">—</span>;
  return (
    <ul class="tags" aria-label="Tags">
      {tags.map((tag) => (
        <li key={tag} class="tag">
          {tag}
        </li>
      ))}
    </ul>
  );
}

export function StatusBadge({ kind, label }: { kind: 'ok' | 'error' | 'pending'; label: string }) {
  return <span class={`badge badge-${kind}`}>{label}</span>;
}
