// A booking's itinerary as a card, with its calendar file ("Add to calendar", an RFC 5545
// .ics served by web/app.py to the signed-in traveller). Props: web/offer_cards.py itinerary_card.
import { Badge } from '@/components/ui/badge';
import { Button } from '@/components/ui/button';
import { Card, CardContent, CardFooter, CardHeader } from '@/components/ui/card';
import { BedDouble, CalendarPlus, Plane } from 'lucide-react';

export default function Itinerary() {
  return (
    <Card data-testid="itinerary-card">
      <CardHeader className="flex flex-row items-center justify-between gap-2 p-4 pb-2">
        <span className="font-semibold">Booking {props.reference}</span>
        <Badge variant="secondary">{props.status}</Badge>
      </CardHeader>
      <CardContent className="flex flex-col gap-3 p-4 pt-0 text-sm">
        {props.items.map((item, index) => (
          <div key={index} className="flex flex-col gap-1">
            <span className="flex items-center justify-between gap-2 font-medium">
              <span className="flex items-center gap-2">
                {item.kind === 'flight' ? <Plane className="h-4 w-4" /> : <BedDouble className="h-4 w-4" />}
                {item.title}
              </span>
              <span>{item.price}</span>
            </span>
            {item.lines.map((line, at) => (
              <span key={at} className="text-muted-foreground">{line}</span>
            ))}
          </div>
        ))}
        <span className="font-semibold">Total: {props.total}</span>
      </CardContent>
      <CardFooter className="justify-end p-4 pt-0">
        <Button asChild variant="outline">
          <a href={props.calendar_url} download={props.calendar_name}>
            <CalendarPlus className="h-4 w-4" />Add to calendar
          </a>
        </Button>
      </CardFooter>
    </Card>
  );
}
